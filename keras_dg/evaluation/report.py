"""`write_report`: metrics JSON, PNG plots and a Markdown + HTML page.

The page is built once as a list of blocks (headings, paragraphs, tables,
images) and rendered to both `report.md` and `report.html`, with images
linked by relative path so the folder can be moved or zipped as a whole.

With the real training data (`train`), the summary shows each metric's
floor (real training vs. real held-out data, the best any generator can
do) and the synthetic value as a multiple of it; `format_summary` prints
the same table as text lines (the `keras-dg evaluate` command uses it).
With the `TableTransformer` that encoded the data, the report speaks in
the table's terms: column names and category labels instead of
`feature_0` / `attribute_0` / indices, and sample series in real units.
The metrics themselves are always computed in the encoded space.
"""

import datetime
import html
import os

from keras_dg.evaluation import plots
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation._utils import display_name
from keras_dg.evaluation._utils import to_float
from keras_dg.evaluation._utils import transformer_columns
from keras_dg.evaluation.metrics import dumps
from keras_dg.evaluation.metrics import evaluate
from keras_dg.files import atomic_write_text
from keras_dg.validation import check_directory
from keras_dg.validation import check_positive_int

# What each summary number means, shown next to it in the report.
_MEANINGS = {
    "acf_mse": "MSE of the ACF curves (lower is better)",
    "block_artifact_score": "ACF excess at lags k*sample_len over the "
    "neighbouring lags, synthetic minus real (0 is best; |x| <= 0.02 is "
    "the target)",
    "attribute_jsd": "mean Jensen-Shannon divergence per attribute, bits "
    "(0 = same, 1 = disjoint)",
    "joint_attribute_jsd": "JS divergence of the joint of all discrete "
    "attributes",
    "length_w1": "Wasserstein-1 of the length distributions, steps",
    "midpoint_w1": "Wasserstein-1 of per-series (max+min)/2 (mode collapse)",
    "cross_correlation_w1": "Wasserstein-1 of per-series feature correlations",
    "conditional_w1": "Wasserstein-1 of per-series means within categories",
    "tstr_accuracy": "mean accuracy, trained on synthetic, tested on real "
    "(higher is better)",
    "tstr_accuracy_spearman": "rank agreement of the classifiers, real vs "
    "synthetic training (1 is best)",
    "tstr_r2": "mean R^2, trained on synthetic, tested on real (higher is "
    "better)",
    "tstr_r2_spearman": "rank agreement of the regressors (1 is best)",
    "discriminative_score": "|accuracy - 0.5| of a real-vs-synthetic "
    "classifier (0 is best)",
    "shape_discriminative_score": "the same on per-series standardised "
    "features: shape only, not level or scale (0 is best)",
    "memorization_median_ratio": "median NN distance to train: synthetic / "
    "held-out real (well below 1 suggests copying)",
    "membership_inference_success": "distance-threshold attack success "
    "(0.5 = no leak)",
    "missing_rate_rel_error": "|synthetic - real| / real missing rate, "
    "mean over the features with gaps (0 is best)",
    "gap_length_w1": "Wasserstein-1 of the gap lengths (runs of missing "
    "steps), steps",
    "conditional_missing_rate_mae": "mean absolute error of the missing "
    "rate within each attribute category",
}


# Signed differences whose best value is 0: a ratio to the floor is
# meaningless for them.
_NO_RATIO = ("block_artifact_score",)


def _fmt(value):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def floor_ratio(name, value, floor):
    """`value / floor` of summary metric `name`, or `None` where undefined.

    Defined for a value >= 0 over a floor > 0 (1.0 where both are 0), and
    not for signed differences such as the block-artifact score. Lower is
    better for most metrics; for the TSTR scores (higher is better) a
    ratio below 1 is the gap to training on real data.
    """
    value, floor = to_float(value), to_float(floor)
    if name in _NO_RATIO or value is None or floor is None or value < 0:
        return None
    if floor == 0:
        return 1.0 if value == 0 else None
    return value / floor if floor > 0 else None


def _ratio_text(ratio):
    return "n/a" if ratio is None else f"{ratio:.3g}x"


def _check_summary(summary, name):
    if not isinstance(summary, dict) or not all(
        isinstance(value, (int, float)) or value is None
        for value in summary.values()
    ):
        raise ValueError(
            f"`{name}` must be a dict of metric name -> number or None, as "
            f"in `evaluate(...)['summary']`. Received: {name}={summary!r}"
        )
    return summary


def format_summary(summary, floor=None):
    """The summary metrics as aligned text lines, with the floor if known.

    Args:
        summary: dict. `evaluate(...)["summary"]`.
        floor: dict or `None`. `evaluate(...)["floor"]` (present when the
            real training data was given); adds the columns `floor` and
            `xfloor` (synthetic / floor). Defaults to `None`.

    Returns:
        list of str: a header line, then one line per metric (`n/a` where
        a value is undefined or the metric has no floor).

    Example:

    >>> for line in format_summary({"acf_mse": 0.02, "length_w1": 0.0},
    ...                            floor={"acf_mse": 0.005, "length_w1": 0.0}):
    ...     print(line)
    metric                           synthetic       floor    xfloor
    acf_mse                               0.02       0.005        4x
    length_w1                                0           0        1x
    """
    summary = _check_summary(summary, "summary")
    if floor is not None:
        floor = _check_summary(floor, "floor")
    width = max([30] + [len(name) for name in summary]) + 1
    header = f"{'metric':<{width}} {'synthetic':>10}"
    if floor is not None:
        header += f" {'floor':>11} {'xfloor':>9}"
    lines = [header]
    for name, value in summary.items():
        line = f"{name:<{width}} {_fmt(to_float(value)):>10}"
        if floor is not None:
            below = floor.get(name)
            line += (
                f" {_fmt(to_float(below)):>11} "
                f"{_ratio_text(floor_ratio(name, value, below)):>9}"
            )
        lines.append(line)
    return lines


class _Page:
    """Blocks of a report page, rendered to Markdown and HTML."""

    def __init__(self):
        self.blocks = []

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def text(self, text):
        self.blocks.append(("text", text))

    def table(self, header, rows):
        if rows:
            self.blocks.append(("table", header, rows))

    def image(self, filename, alt):
        if filename is not None:
            self.blocks.append(("image", filename, alt))

    def markdown(self):
        lines = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "text":
                lines += [block[1], ""]
            elif kind == "table":
                header, rows = block[1], block[2]
                cells = [h.replace("|", "\\|") for h in header]
                lines.append("| " + " | ".join(cells) + " |")
                lines.append("|" + "---|" * len(header))
                for row in rows:
                    cells = [_fmt(c).replace("|", "\\|") for c in row]
                    lines.append("| " + " | ".join(cells) + " |")
                lines.append("")
            else:
                lines += [f"![{block[2]}]({block[1]})", ""]
        return "\n".join(lines)

    def html(self, title):
        body = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                level = block[1]
                body.append(f"<h{level}>{html.escape(block[2])}</h{level}>")
            elif kind == "text":
                body.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "table":
                head = "".join(f"<th>{html.escape(h)}</th>" for h in block[1])
                rows = "".join(
                    "<tr>"
                    + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row)
                    + "</tr>"
                    for row in block[2]
                )
                body.append(
                    f"<table><thead><tr>{head}</tr></thead>"
                    f"<tbody>{rows}</tbody></table>"
                )
            else:
                src, alt = html.escape(block[1]), html.escape(block[2])
                body.append(f'<p><img src="{src}" alt="{alt}"></p>')
        style = (
            "body{font-family:sans-serif;max-width:1200px;margin:2em auto;"
            "padding:0 1em;color:#222}table{border-collapse:collapse;"
            "margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;"
            "padding:3px 8px;text-align:left}th{background:#f3f3f3}"
            "img{max-width:100%}"
        )
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{style}</style>"
            "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )


def _tstr_table(result):
    return [
        [name, scores["train_on_real"], scores["train_on_synthetic"]]
        for name, scores in result["models"].items()
    ]


def _named(columns, items):
    """`[[display name, value...]]` rows from `(key, value)` items."""
    return [[display_name(columns, key), value] for key, value in items]


def _summary_section(page, metrics):
    """The headline numbers, beside their floor when there is one."""
    page.heading("Summary")
    floor = metrics.get("floor")
    if floor is None:
        page.table(
            ["metric", "value", "meaning"],
            [
                [name, value, _MEANINGS.get(name, "")]
                for name, value in metrics["summary"].items()
            ],
        )
        return
    page.text(
        f"The floor: the same metrics with {metrics['n_series']['floor']} "
        "real training series in the synthetic data's place (real vs. "
        "real, the best any generator can do). x floor = synthetic / "
        "floor: near 1 is as good as real data; for the TSTR scores "
        "(higher is better) below 1 is the gap to training on real data."
    )
    page.table(
        ["metric", "synthetic", "floor (real vs real)", "x floor",
         "meaning"],
        [
            [name, value, floor.get(name),
             _ratio_text(floor_ratio(name, value, floor.get(name))),
             _MEANINGS.get(name, "")]
            for name, value in metrics["summary"].items()
        ],
    )


def _build_page(metrics, real, synthetic, train, images, title, columns):
    page = _Page()
    page.heading(title, 1)
    n = metrics["n_series"]
    units = (
        "Names and category labels are the table's; the sample series are "
        "drawn in its units. "
        if columns else ""
    )
    page.text(
        f"Generated {datetime.date.today().isoformat()}. Series: real "
        f"(held-out reference) {n['real']}, synthetic {n['synthetic']}, "
        f"training {'not given' if n['train'] is None else n['train']}; "
        f"max_sequence_len {real.max_sequence_len}; "
        f"{len(real.feature_outputs)} feature and "
        f"{len(real.attribute_outputs)} attribute outputs. All metrics are "
        f"computed in the encoded space. {units}All numbers are in "
        "metrics.json."
    )
    _summary_section(page, metrics)
    if "samples" in images:
        page.heading("Sample series")
        page.image(images["samples"], "sample series, real vs synthetic")
    if "autocorrelation" in metrics:
        page.heading("Autocorrelation")
        page.text(
            "Per-series Pearson autocorrelation at lags 1..T-2, averaged "
            "over series (paper Fig. 1); MSE between the curves."
        )
        page.image(images.get("autocorrelation"), "ACF curves")
        page.table(
            ["feature", "ACF MSE"],
            _named(columns, metrics["autocorrelation"]["per_feature"].items()),
        )
    if "block_artifact" in metrics:
        result = metrics["block_artifact"]
        page.heading("Block artifacts")
        page.text(
            "The ACF's excess at lags "
            f"{', '.join(map(str, result['lags']))} (multiples of "
            "sample_len) over the mean of the two neighbouring lags: a "
            "generator that repeats one shape in every block of sample_len "
            "steps peaks there. Score = synthetic excess - real excess "
            "(0 is best)."
        )
        page.table(
            ["feature", "real excess", "synthetic excess", "score"],
            [
                [display_name(columns, key), result["real"][key],
                 result["synthetic"][key], score]
                for key, score in result["per_feature"].items()
            ],
        )
    _distribution_sections(page, metrics, images, columns)
    _downstream_sections(page, metrics, columns)
    _memorization_section(page, metrics, images)
    if metrics["skipped"]:
        page.heading("Skipped")
        page.table(["metric", "reason"], list(metrics["skipped"].items()))
    return page


def _figure_section(page, metrics, images, key, heading, caption):
    """The heading and figure of `key` where either was computed; returns
    its metrics (`None` where there are none)."""
    if key not in metrics and key not in images:
        return None
    page.heading(heading)
    page.image(images.get(key), caption)
    return metrics.get(key) or None


def _distribution_sections(page, metrics, images, columns):
    """Attributes, lengths, midpoints, cross- and conditional correlations."""
    result = _figure_section(
        page, metrics, images, "attributes", "Attributes",
        "attribute distributions",
    )
    if result:
        page.table(
            ["attribute", "JS divergence (bits)"],
            _named(columns, result["js_divergence"].items()),
        )
        page.table(
            ["attribute", "Wasserstein-1"],
            _named(columns, result["wasserstein"].items()),
        )
    result = _figure_section(
        page, metrics, images, "lengths", "Series lengths", "length histogram"
    )
    if result:
        page.table(
            ["Wasserstein-1", "mean length (real)", "mean length (synthetic)"],
            [[result["wasserstein"], result["real_mean"],
              result["synthetic_mean"]]],
        )
    result = _figure_section(
        page, metrics, images, "midpoints",
        "Per-series (max + min) / 2 (mode collapse)", "midpoint histograms",
    )
    if result:
        page.table(
            ["feature", "Wasserstein-1"],
            _named(columns, result["per_feature"].items()),
        )
    if "cross_correlation" in metrics:
        page.heading("Cross-measurement correlation")
        page.table(
            ["feature pair", "Wasserstein-1 of per-series Pearson r"],
            _named(columns, metrics["cross_correlation"]["per_pair"].items()),
        )
    if "conditional" in metrics:
        result = metrics["conditional"]
        page.heading("Measurements conditioned on attributes")
        page.text(
            "Wasserstein-1 between per-series means within each category, "
            "averaged over the categories present in both datasets."
        )
        page.table(
            ["attribute", "feature", "mean Wasserstein-1", "categories",
             "missing in synthetic"],
            [
                [display_name(columns, attribute),
                 display_name(columns, feature), value["mean"],
                 len(value["per_category"]),
                 _category_list(columns, attribute,
                                result["missing"][attribute])]
                for attribute, by_feature in result["per_attribute"].items()
                for feature, value in by_feature.items()
            ],
        )


def _category_list(columns, attribute, indices):
    """The missing categories: their count, or their labels if known."""
    spec = (columns or {}).get(attribute)
    if spec is None or not indices:
        return len(indices)
    labels = [str(spec["categories"][int(i)]) for i in indices]
    shown = ", ".join(labels[:5])
    return shown + (f" (+{len(labels) - 5} more)" if len(labels) > 5 else "")


def _downstream_sections(page, metrics, columns):
    """TSTR classification and regression, and the discriminative score."""
    for key, label in (
        ("tstr_classification", "accuracy"),
        ("tstr_regression", "R^2"),
    ):
        if key not in metrics:
            continue
        result = metrics[key]
        task = (
            f"classify {display_name(columns, result['target'])}"
            if "target" in result
            else f"predict the last {result['horizon']} steps"
        )
        page.heading(f"Downstream: {task} (TSTR)")
        page.text(
            f"{label} on {result['n_test']} held-out real series; models "
            f"trained on {result['n_train']} real or as many synthetic "
            f"series. Spearman rank correlation of the models' scores: "
            f"{_fmt(result['spearman'])}."
        )
        page.table(
            ["model", f"{label}, train on real",
             f"{label}, train on synthetic"],
            _tstr_table(result),
        )
    if "discriminative" in metrics:
        result = metrics["discriminative"]
        page.heading("Discriminative score")
        page.text(
            "A random forest tells real from synthetic series; the shape "
            "score sees only each series' continuous features standardised "
            "per series (mean 0, sd 1), so level and scale do not count."
        )
        rows = [["raw series", result["score"], result["accuracy"],
                 result["n_train"], result["n_test"]]]
        shape = result.get("shape")
        if shape:
            rows.append(["shape only", shape["score"], shape["accuracy"],
                         shape["n_train"], shape["n_test"]])
        page.table(
            ["inputs", "score |acc - 0.5|", "accuracy", "train", "test"],
            rows,
        )


def _memorization_section(page, metrics, images):
    """Distances to the training set and the membership attack."""
    if "memorization" not in metrics:
        return
    result = metrics["memorization"]
    page.heading("Memorization")
    page.table(
        ["nearest training series from", "mean", "median", "min", "q05"],
        [
            [who] + [result[key][s] for s in ("mean", "median", "min",
                                               "q05")]
            for who, key in (("synthetic", "synthetic_to_train"),
                             ("held-out real", "holdout_to_train"))
        ],
    )
    attack = result["membership_inference"]
    page.text(
        f"Median ratio {_fmt(result['median_ratio'])}. Fraction of "
        "synthetic series closer to the training set than 95% of "
        "held-out ones: "
        f"{_fmt(result['fraction_below_holdout_q05'])}. Membership "
        f"inference: success {_fmt(attack['success_rate'])}, AUC "
        f"{_fmt(attack['auc'])} ({attack['n_members']} members vs "
        f"{attack['n_non_members']} non-members; 0.5 = no leak)."
    )
    page.image(images.get("closest_pairs"), "closest pairs")


def _add_missingness(result, real, synthetic, transformer, train):
    """Missingness fidelity (`missingness_fidelity`) of the features with a
    missingness channel: under `missingness`, its headline numbers in the
    summary and, where the floor was computed, in the floor."""
    from keras_dg.evaluation.missingness import missingness_fidelity

    with_floor = result.get("floor") is not None
    missing = missingness_fidelity(
        real, synthetic, transformer, train=train if with_floor else None
    )
    result["missingness"] = missing
    result["summary"].update(missing["summary"])
    if with_floor:
        result["floor"].update(missing["floor"])


def write_report(
    real,
    synthetic,
    out_dir,
    train=None,
    seed=0,
    metrics=None,
    n_sample_rows=4,
    title="keras-dg fidelity report",
    transformer=None,
    sample_len=None,
    floor=True,
):
    """Evaluates `synthetic` against `real` and writes a report folder.

    Writes `metrics.json` (the dict `evaluate` returns), PNG plots (ACF
    curves, attribute distributions, length and midpoint histograms, sample
    series real beside synthetic, closest memorization pairs) and a
    `report.md` and `report.html` that show them. With `train`, the
    summary table shows each metric's floor (real training vs. real data)
    and the synthetic value as a multiple of it; with `transformer`, the
    page uses the table's column names and category labels and draws the
    sample series in its units.

    Args:
        real: `TimeSeriesDataset`. Held-out real series.
        synthetic: `TimeSeriesDataset`. Generated series, same specs.
        out_dir: str or path-like. Folder to write into (created if
            missing; existing report files are overwritten).
        train: `TimeSeriesDataset` or `None`. The generator's training data
            (enables memorization and the floor). Defaults to `None`.
        seed: int. Defaults to 0.
        metrics: list of metric names or `None` for all; see `evaluate`.
        n_sample_rows: int. Sample series drawn per side (each is one row
            of the grid, or one row per feature with a transformer).
            Defaults to 4.
        title: str. The page title. Defaults to "keras-dg fidelity report".
        transformer: `keras_dg.data.TableTransformer` or `None`. The
            transformer that encoded `real` (its specs must match); gives
            the report the table's names, labels and units. Defaults to
            `None`.
        sample_len: int or `None`. The generator's steps per LSTM cell;
            enables the block-artifact score (see `evaluate`). Defaults to
            `None`.
        floor: bool. Whether to compute the floor when `train` is given
            (see `evaluate`). Defaults to `True`.

    Returns:
        The metrics dict, as `evaluate` returns it.

    Example:

    >>> import numpy as np, tempfile
    >>> from keras_dg import Output, TimeSeriesDataset
    >>> x = np.random.default_rng(0).uniform(size=(8, 6, 1))
    >>> ds = TimeSeriesDataset(x, np.eye(2)[[0, 1] * 4], np.ones((8, 6)),
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)])
    >>> out = tempfile.mkdtemp()
    >>> write_report(ds, ds, out, metrics=["acf_mse"])["summary"]
    {'acf_mse': 0.0}
    >>> sorted(os.listdir(out))  # doctest: +NORMALIZE_WHITESPACE
    ['acf.png', 'attributes.png', 'lengths.png', 'metrics.json',
     'midpoints.png', 'report.html', 'report.md', 'samples.png']
    """
    out_dir = check_directory(out_dir, "out_dir")
    n_sample_rows = check_positive_int(n_sample_rows, "n_sample_rows")
    if not isinstance(title, str):
        raise ValueError(f"`title` must be a string. Received: {title!r}")
    columns = None
    if transformer is not None:
        check_dataset(real, "real")
        columns = transformer_columns(transformer, real)
    result = evaluate(
        real, synthetic, train=train, seed=seed, metrics=metrics,
        sample_len=sample_len, floor=floor,
    )
    if transformer is not None and transformer.missing_channels:
        _add_missingness(result, real, synthetic, transformer, train)
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(
        os.path.join(out_dir, "metrics.json"), dumps(result) + "\n"
    )

    images = {}

    def draw(key, filename, function, *args, **kwargs):
        function(*args, os.path.join(out_dir, filename), **kwargs)
        images[key] = filename

    has_continuous = bool(continuous_feature_columns(real))
    if has_continuous:
        draw("samples", "samples.png", plots.plot_samples, real, synthetic,
             n_rows=n_sample_rows, seed=seed, columns=columns)
        draw("midpoints", "midpoints.png", plots.plot_midpoints, real,
             synthetic, columns=columns)
    if "autocorrelation" in result:
        draw("autocorrelation", "acf.png", plots.plot_autocorrelation,
             result["autocorrelation"], columns=columns)
    if real.attribute_outputs:
        draw("attributes", "attributes.png", plots.plot_attributes, real,
             synthetic, columns=columns)
    draw("lengths", "lengths.png", plots.plot_lengths, real, synthetic)
    if "memorization" in result and has_continuous:
        draw("closest_pairs", "closest_pairs.png", plots.plot_closest_pairs,
             synthetic, train, result["memorization"]["closest_pairs"],
             columns=columns)

    page = _build_page(
        result, real, synthetic, train, images, title, columns
    )
    atomic_write_text(os.path.join(out_dir, "report.md"), page.markdown())
    atomic_write_text(os.path.join(out_dir, "report.html"), page.html(title))
    return result
