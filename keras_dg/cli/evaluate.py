"""`keras-dg evaluate`: the paper's fidelity metrics and a report.

Prints the summary metrics through `keras_dg.evaluation.format_summary`:
with `--train` (the real training data) each beside its floor (real
training vs. real data, the best any generator can do) and the ratio.
"""

import os

from keras_dg.cli import flags

HELP = "compare real and synthetic data (fidelity report)"
DESCRIPTION = (
    "Compute the paper's fidelity metrics of synthetic against real data and"
    " write metrics.json, plots and report.html/report.md into --out."
)


def add_arguments(parser):
    parser.add_argument(
        "--real", "-r", required=True, metavar="PATH",
        help="real data: a folder in the original format or one of its "
             "data_{split}.npz files",
    )
    parser.add_argument(
        "--synthetic", "-s", required=True, metavar="PATH",
        help="generated data: a folder or .npz (e.g. RUN/generated, or an "
             "npz of the original code: its Output pickles, if not beside "
             "it, are taken from --real)",
    )
    parser.add_argument(
        "--train", metavar="PATH",
        help="the generator's training data, same forms as --real: "
             "enables the memorization check and the floor (every metric "
             "of the real training data against --real, printed and "
             "reported beside the synthetic data's)",
    )
    parser.add_argument(
        "--out", "-o", required=True, metavar="DIR",
        help="report folder: report.html, report.md, metrics.json, plots",
    )
    parser.add_argument(
        "--real-split", default=None,
        help="split of a --real folder (default: test if present, else "
             "train)",
    )
    parser.add_argument(
        "--synthetic-split", default=None,
        help="split of a --synthetic folder (default: its only split, or "
             "'generated')",
    )
    parser.add_argument(
        "--metrics", type=flags.names, default=None, metavar="NAMES",
        help="comma-separated metrics (default: all that apply)",
    )
    parser.add_argument(
        "--sample-len", "--sample_len", dest="sample_len",
        type=flags.positive_int, default=None, metavar="S",
        help="the generator's sample_len: adds the block-artifact score "
             "(ACF peaks at multiples of S)",
    )
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false",
        help="with --train, skip the floor (halves the evaluation time)",
    )
    flags.add_seed_flag(
        parser, "seed of the randomized metrics (default: 0)"
    )


def run(args):
    from keras_dg.data.readers import load_any
    from keras_dg.evaluation import format_summary
    from keras_dg.evaluation import write_report

    real = load_any(args.real, args.real_split, "--real")
    synthetic = load_any(
        args.synthetic, args.synthetic_split, "--synthetic", like=real
    )
    train = None
    if args.train is not None:
        train = load_any(args.train, None, "--train", like=real)
    out = os.fspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out '{out}' is a file; expected a folder.")
    result = write_report(
        real, synthetic, out, train=train, seed=args.seed,
        metrics=args.metrics, sample_len=args.sample_len, floor=args.floor,
    )
    print(f"Report: {os.path.join(out, 'report.html')}")
    for line in format_summary(result["summary"], result.get("floor")):
        print(f"  {line}")
    return 0
