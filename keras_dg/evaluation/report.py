"""`write_report`: metrics JSON, PNG plots and a Markdown + HTML page.

The page is built once as a list of blocks (headings, paragraphs, tables,
images) and rendered to both `report.md` and `report.html`, with images
linked by relative path so the folder can be moved or zipped as a whole.
"""

import datetime
import html
import os

from keras_dg.evaluation import plots
from keras_dg.evaluation._utils import continuous_feature_columns
from keras_dg.evaluation.metrics import dumps
from keras_dg.evaluation.metrics import evaluate
from keras_dg.files import atomic_write_text
from keras_dg.validation import check_directory
from keras_dg.validation import check_positive_int

# What each summary number means, shown next to it in the report.
_MEANINGS = {
    "acf_mse": "MSE of the ACF curves (lower is better)",
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
    "memorization_median_ratio": "median NN distance to train: synthetic / "
    "held-out real (well below 1 suggests copying)",
    "membership_inference_success": "distance-threshold attack success "
    "(0.5 = no leak)",
}


def _fmt(value):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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


def _build_page(metrics, real, synthetic, train, images, title):
    page = _Page()
    page.heading(title, 1)
    n = metrics["n_series"]
    page.text(
        f"Generated {datetime.date.today().isoformat()}. Series: real "
        f"(held-out reference) {n['real']}, synthetic {n['synthetic']}, "
        f"training {'not given' if n['train'] is None else n['train']}; "
        f"max_sequence_len {real.max_sequence_len}; "
        f"{len(real.feature_outputs)} feature and "
        f"{len(real.attribute_outputs)} attribute outputs. All metrics are "
        "computed in the encoded space; all numbers are in metrics.json."
    )
    page.heading("Summary")
    page.table(
        ["metric", "value", "meaning"],
        [
            [name, value, _MEANINGS.get(name, "")]
            for name, value in metrics["summary"].items()
        ],
    )
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
            list(metrics["autocorrelation"]["per_feature"].items()),
        )
    _distribution_sections(page, metrics, images)
    _downstream_sections(page, metrics)
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


def _distribution_sections(page, metrics, images):
    """Attributes, lengths, midpoints, cross- and conditional correlations."""
    result = _figure_section(
        page, metrics, images, "attributes", "Attributes",
        "attribute distributions",
    )
    if result:
        page.table(
            ["attribute", "JS divergence (bits)"],
            list(result["js_divergence"].items()),
        )
        page.table(
            ["attribute", "Wasserstein-1"], list(result["wasserstein"].items())
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
            ["feature", "Wasserstein-1"], list(result["per_feature"].items())
        )
    if "cross_correlation" in metrics:
        page.heading("Cross-measurement correlation")
        page.table(
            ["feature pair", "Wasserstein-1 of per-series Pearson r"],
            list(metrics["cross_correlation"]["per_pair"].items()),
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
                [attribute, feature, value["mean"],
                 len(value["per_category"]),
                 len(result["missing"][attribute])]
                for attribute, by_feature in result["per_attribute"].items()
                for feature, value in by_feature.items()
            ],
        )


def _downstream_sections(page, metrics):
    """TSTR classification and regression, and the discriminative score."""
    for key, label in (
        ("tstr_classification", "accuracy"),
        ("tstr_regression", "R^2"),
    ):
        if key not in metrics:
            continue
        result = metrics[key]
        task = (
            f"classify {result['target']}" if "target" in result
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
        page.table(
            ["score |acc - 0.5|", "accuracy", "train", "test"],
            [[result["score"], result["accuracy"], result["n_train"],
              result["n_test"]]],
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


def write_report(
    real,
    synthetic,
    out_dir,
    train=None,
    seed=0,
    metrics=None,
    n_sample_rows=4,
    title="keras-dg fidelity report",
):
    """Evaluates `synthetic` against `real` and writes a report folder.

    Writes `metrics.json` (the dict `evaluate` returns), PNG plots (ACF
    curves, attribute distributions, length and midpoint histograms, sample
    series real beside synthetic, closest memorization pairs) and a
    `report.md` and `report.html` that show them.

    Args:
        real: `TimeSeriesDataset`. Held-out real series.
        synthetic: `TimeSeriesDataset`. Generated series, same specs.
        out_dir: str or path-like. Folder to write into (created if
            missing; existing report files are overwritten).
        train: `TimeSeriesDataset` or `None`. The generator's training data
            (enables memorization). Defaults to `None`.
        seed: int. Defaults to 0.
        metrics: list of metric names or `None` for all; see `evaluate`.
        n_sample_rows: int. Rows in the sample-series grid. Defaults to 4.
        title: str. The page title. Defaults to "keras-dg fidelity report".

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
    result = evaluate(real, synthetic, train=train, seed=seed, metrics=metrics)
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
             n_rows=n_sample_rows, seed=seed)
        draw("midpoints", "midpoints.png", plots.plot_midpoints, real,
             synthetic)
    if "autocorrelation" in result:
        draw("autocorrelation", "acf.png", plots.plot_autocorrelation,
             result["autocorrelation"])
    if real.attribute_outputs:
        draw("attributes", "attributes.png", plots.plot_attributes, real,
             synthetic)
    draw("lengths", "lengths.png", plots.plot_lengths, real, synthetic)
    if "memorization" in result and has_continuous:
        draw("closest_pairs", "closest_pairs.png", plots.plot_closest_pairs,
             synthetic, train, result["memorization"]["closest_pairs"])

    page = _build_page(result, real, synthetic, train, images, title)
    atomic_write_text(os.path.join(out_dir, "report.md"), page.markdown())
    atomic_write_text(os.path.join(out_dir, "report.html"), page.html(title))
    return result
