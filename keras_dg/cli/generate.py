"""`keras-dg generate`: series from a trained model, as CSV or npz, or
streamed to a folder of Parquet/CSV/npz parts (`generate_to`)."""

import argparse
import os

from keras_dg import files
from keras_dg.cli import flags

HELP = "generate series from a trained model or a preset"
DESCRIPTION = (
    "Generate synthetic series from a .keras model or a preset with weights "
    "(--preset flights: no training, no data): n series, or the "
    "features for given attributes (--given) or with some attributes fixed "
    "(--fix), as a CSV in real units or in the original npz format. "
    "Millions of series: --out DIR --format parquet streams them to part "
    "files in constant memory (--rows-per-file, --layout, --resume, "
    "--shard i/N for many machines)."
)


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model", "-m", metavar="FILE",
        help="a trained model (.keras), e.g. RUN/model.keras",
    )
    source.add_argument(
        "--preset", "-p", metavar="HANDLE",
        help="a preset with weights instead of --model: a built-in name "
             "(see `keras-dg presets`: flights, FCC_MBA), a preset folder "
             "(model.save_to_preset), kaggle://OWNER/MODEL/keras/VARIANT or "
             "hf://OWNER/MODEL; needs no training and no data",
    )
    parser.add_argument(
        "-n", "--num", dest="n", type=flags.positive_int, default=None,
        help="number of series (default: the rows of --given, else 1000)",
    )
    parser.add_argument(
        "--given", metavar="CSV",
        help="CSV with one row per series to generate and one column per "
             "attribute (the training table's attribute names and values, "
             "in real units): generate the features for these attributes",
    )
    parser.add_argument(
        "--fix", type=flags.assignment, action="append", default=[],
        metavar="COLUMN=VALUE",
        help="fix one attribute for every series and let the model sample "
             "the others from its learned conditional distribution "
             "(repeatable), e.g. --fix origin=JFK",
    )
    flags.add_seed_flag(
        parser, "generation seed; the same seed gives the same data "
                "(default: 0)",
    )
    parser.add_argument(
        "--format", choices=("npz", "csv", "parquet"), default=None,
        help="csv: a table in real units (needs the model's transformer); "
             "npz: the original format; parquet: a folder of Parquet parts "
             "(streamed, see --rows-per-file) (default: csv if --out ends "
             "with .csv, else npz)",
    )
    parser.add_argument(
        "--out", "-o", required=True, metavar="PATH",
        help="output: a .csv file, a .npz file (the original's "
             "data_feature/data_attribute/data_gen_flag arrays) or a folder "
             "(the original format with its Output pickles, readable by "
             "keras-dg evaluate and load_dg)",
    )
    flags.add_overwrite_flag(parser, "replace existing output files")
    parser.add_argument(
        "--batch-size", type=flags.positive_int, default=1000,
        help="series per forward pass (default: 1000)",
    )
    parser.add_argument(
        "--length", type=flags.positive_int, default=None, metavar="L",
        help="time steps per series, up to 100x the model's length: longer "
             "series than it was trained on, each one piece (the LSTM "
             "carries its state on; every series runs all L steps) "
             "(default: the model's length, series ending where its "
             "generation flag says)",
    )
    parser.add_argument(
        "--missing-argmax", dest="draw_missing", action="store_false",
        help="missingness channels (tables fitted with --missing model) "
             "by argmax, as the other discrete outputs: missing only where "
             "the model's probability is over 0.5, so rare gaps mostly "
             "vanish (default: each step drawn from that probability)",
    )
    stream = parser.add_argument_group(
        "streaming to a folder of parts (--format parquet, or --format "
        "csv/npz with any of these flags): constant memory whatever -n; "
        "the rows of the same -n and --seed in one file, in order; "
        "_manifest.json is written last"
    )
    stream.add_argument(
        "--rows-per-file", type=flags.positive_int, default=None,
        metavar="K",
        help="series per part file (default: 100000)",
    )
    stream.add_argument(
        "--layout", choices=("long", "wide"), default=None,
        help="long: a row per series and step; wide: a row per series "
             "(default: the training table's layout)",
    )
    flags.add_resume_flag(
        stream, "continue an interrupted run in --out from its finished "
                "parts (same -n, --seed, --format and model)",
    )
    stream.add_argument(
        "--shard", type=shard, default=None, metavar="i/N",
        help="generate only the i-th (0 to N-1) of N contiguous parts of "
             "the -n series, with the same seed stream: N machines with "
             "--shard 0/N ... N-1/N write together what one run writes",
    )
    stream.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="no progress bar",
    )


def shard(text):
    """`i/N` as `(i, N)` (ranges are checked against -n later)."""
    parts = str(text).split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected i/N (e.g. 0/4), got {text!r}"
        ) from None
    return index, count


def _streaming(args):
    """Whether the flags ask for a folder of parts (`generate_to`)."""
    out = os.fspath(args.out).lower()
    return (
        args.format == "parquet"
        or (args.format == "csv" and not out.endswith((".csv", ".npz")))
        or args.rows_per_file is not None
        or args.layout is not None
        or args.resume
        or args.shard is not None
    )


def _output_format(out, fmt):
    """(format, is an .npz file) of --out and --format."""
    fmt = fmt or ("csv" if out.lower().endswith(".csv") else "npz")
    if fmt == "csv" and not out.lower().endswith(".csv"):
        raise ValueError(
            f"--format csv needs an --out ending in .csv: {out!r}"
        )
    if fmt == "npz" and out.lower().endswith(".csv"):
        raise ValueError(
            f"--format npz writes a .npz file or a folder, not {out!r}."
        )
    return fmt, fmt == "npz" and out.lower().endswith(".npz")


def _check_out(out, is_file, overwrite):
    """Refuses an --out that is missing its folder or would be replaced."""
    from keras_dg import pipeline

    if is_file:
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"--out folder '{parent}' does not exist.")
        if os.path.isdir(out):
            raise ValueError(f"--out '{out}' is a folder; expected a file.")
        if os.path.exists(out) and not overwrite:
            raise ValueError(
                f"--out '{out}' exists; pass --overwrite to replace it."
            )
        return
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out '{out}' is a file; expected a folder.")
    target = os.path.join(out, f"data_{pipeline.GENERATED_SPLIT}.npz")
    if os.path.exists(target) and not overwrite:
        raise ValueError(
            f"'{target}' exists; pass --overwrite to replace it."
        )


def _synthesize(args, model, given_table):
    from keras_dg.data.conditioning import encode_attributes
    from keras_dg.data.conditioning import fixed_attributes

    if given_table is not None:
        attributes = encode_attributes(given_table, model, "--given")
        if args.n is not None and args.n != len(attributes):
            raise ValueError(
                f"-n {args.n} disagrees with the {len(attributes)} rows of "
                "--given; drop -n or fix the file."
            )
        return model.generate(
            attributes=attributes, seed=args.seed, batch_size=args.batch_size,
            length=args.length, draw_missing=args.draw_missing,
        )
    fixed = fixed_attributes(args.fix, model, "--fix") or None
    return model.generate(
        args.n or 1000, seed=args.seed, batch_size=args.batch_size,
        fixed_attributes=fixed, length=args.length,
        draw_missing=args.draw_missing,
    )


def _write_npz_file(dataset, path):
    """The original's three arrays in one npz file, atomically."""
    import numpy as np

    with files.atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            data_feature=dataset.features.astype("float32"),
            data_attribute=dataset.attributes.astype("float32"),
            data_gen_flag=dataset.gen_flag.astype("float32"),
        )


def _write(synthetic, model, out, fmt, npz_file):
    """Writes the generated data; returns the path written."""
    from keras_dg import pipeline
    from keras_dg.data import save_dg

    if fmt == "csv":
        table = model.transformer.inverse_transform(synthetic)
        return pipeline.write_csv(table, out)
    if npz_file:
        _write_npz_file(synthetic, out)
        return out
    save_dg(synthetic, out, split=pipeline.GENERATED_SPLIT)
    return os.path.join(out, f"data_{pipeline.GENERATED_SPLIT}.npz")


def _from_preset(handle):
    """The model of `--preset`; a missing hub client is a user error."""
    from keras_dg.models.doppelganger import DoppelGANger

    try:
        return DoppelGANger.from_preset(handle)
    except ImportError as e:
        raise ValueError(f"--preset {handle}: {e}") from None


def _load(args):
    from keras_dg.data.readers import load_model

    if args.preset is not None:
        model = _from_preset(args.preset)
    else:
        model = load_model(args.model, "--model")
    if model.predict_jit_compile is None:
        # One generation per process: XLA's compile costs more than it
        # saves (flights, 1000 series: 3.4 s with it, 1.1 s without).
        model.predict_jit_compile = False
    return model


def _run_streaming(args):
    from keras_dg.models.streaming import DEFAULT_ROWS_PER_FILE
    from keras_dg.models.streaming import check_shard

    out = os.fspath(args.out)
    fmt = args.format or "parquet"
    if out.lower().endswith((".csv", ".npz", ".parquet")):
        raise ValueError(
            f"--out {out!r}: streaming (--format {fmt}, --rows-per-file, "
            "--layout, --resume, --shard) writes a folder of part files; "
            "name a folder."
        )
    if args.given or args.fix:
        raise ValueError(
            "--given and --fix generate in memory; they do not combine with"
            " streaming to a folder (--format parquet, --rows-per-file, "
            "--layout, --resume, --shard)."
        )
    if fmt == "npz" and args.layout is not None:
        raise ValueError(
            "--layout applies to tables (--format parquet or csv); npz "
            "parts hold the encoded arrays."
        )
    if args.resume and args.overwrite:
        raise ValueError("Pass --resume or --overwrite, not both.")
    n = args.n or 1000
    check_shard(args.shard, n, "--shard")
    model = _load(args)
    if fmt == "csv" and model.transformer is None:
        print(
            "This model has no transformer: the CSV parts hold the encoded "
            "values (feature_0, ..., attribute_0, ...)."
        )
    manifest = model.generate_to(
        out, n, format=fmt,
        rows_per_file=args.rows_per_file or DEFAULT_ROWS_PER_FILE,
        seed=args.seed, layout=args.layout, batch_size=args.batch_size,
        shard=args.shard, resume=args.resume, overwrite=args.overwrite,
        progress=args.progress, length=args.length,
        draw_missing=args.draw_missing,
    )
    start, stop = manifest["rows"]
    what = (
        "" if args.shard is None
        else f" (shard {args.shard[0]}/{args.shard[1]} of {n})"
    )
    print(
        f"Generated series {start}-{stop - 1}{what} in "
        f"{len(manifest['parts'])} {fmt} part(s) -> {manifest['path']}"
    )
    return 0


def run(args):
    from keras_dg.data.readers import read_table

    if _streaming(args):
        return _run_streaming(args)
    out = os.fspath(args.out)
    fmt, npz_file = _output_format(out, args.format)
    _check_out(out, fmt == "csv" or npz_file, args.overwrite)
    if args.given and args.fix:
        raise ValueError(
            "Pass --given (all attributes per series) or --fix (some "
            "attributes for all series), not both."
        )
    given_table = read_table(args.given, "--given") if args.given else None
    model = _load(args)
    if fmt == "csv" and model.transformer is None:
        raise ValueError(
            "--format csv needs the model's transformer (models trained on a"
            " table or with keras-dg train have one); this model has none: "
            "use --format npz."
        )
    synthetic = _synthesize(args, model, given_table)
    written = _write(synthetic, model, out, fmt, npz_file)
    lengths = synthetic.lengths
    print(
        f"Generated {len(synthetic)} series (length {lengths.min()}-"
        f"{lengths.max()}, mean {lengths.mean():.1f}) -> {written}"
    )
    return 0
