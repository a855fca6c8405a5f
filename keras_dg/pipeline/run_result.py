"""`RunResult`: where a pipeline run put its files, and its headline metrics."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class RunResult:
    """Where a pipeline run put its files, and its headline metrics.

    Attributes:
        out_dir: str. The run's folder.
        model: str. The trained model (`model.keras`).
        generated_dir: str. The generated data as an original-format folder.
        generated_npz: str. Its `data_generated.npz`.
        generated_csv: str or None. The generated data in real units (only
            with a transformer).
        report_html: str or None. The fidelity report page.
        report_md: str or None. The same report as Markdown.
        metrics: str or None. `metrics.json`, every metric of the report.
        summary: dict. The report's headline metrics.
        floor: dict or None. The same metrics of the real training data
            against the reference (real vs. real: the best a generator can
            do); None without a held-out split.
        epochs: int. Epochs trained in total.
        seconds: dict. Wall-clock seconds of `train`, `generate`, `report`
            and `total`.
    """

    out_dir: str
    model: str
    generated_dir: str
    generated_npz: str
    generated_csv: object
    report_html: object
    report_md: object
    metrics: object
    summary: dict
    epochs: int
    seconds: dict
    floor: object = None

    def outputs(self):
        """The written paths by name (what `run.json` records)."""
        return {
            k: v for k, v in dataclasses.asdict(self).items()
            if k not in ("summary", "floor", "seconds", "epochs")
        }

    def describe(self):
        """A few lines naming every output, for printing."""
        rows = [
            ("model", self.model),
            ("generated (npz)", self.generated_npz),
            ("generated (csv)", self.generated_csv),
            ("report", self.report_html),
            ("metrics", self.metrics),
        ]
        lines = [
            f"Run finished in {_duration(self.seconds['total'])} "
            f"({self.epochs} epochs): {self.out_dir}"
        ]
        lines += [f"  {name:<16} {path}" for name, path in rows if path]
        if self.summary:
            from keras_dg.evaluation import format_summary

            lines.append(
                "  metrics (floor: real training data vs. the reference)"
                if self.floor else "  metrics"
            )
            lines += [
                f"    {line}"
                for line in format_summary(self.summary, self.floor)
            ]
        return "\n".join(lines)


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
