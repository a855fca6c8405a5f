"""The flags the `keras-dg` commands (and the recipe scripts) share.

- Flag types for argparse (`boolean`, `names`, `positive_int`,
  `non_negative_int`, `fraction`, `assignment`); the numeric ones check
  with `keras_dg.validation`.
- The model's hyperparameters under the original names
  (`HYPERPARAMETERS`, `add_hyperparameter_flags`, `model_kwargs`), their
  defaults from `keras_dg.models.config.DEFAULTS`, and the training options
  (`TRAINING_FLAGS`, `training_options`).
- The data flags (`add_data_flags`, `check_source_flags`), the run flags
  (`add_run_flags`) and the single flags several commands take
  (`add_seed_flag`, `add_quick_flag`, `add_cpu_threads_flag`, ...).
"""

import argparse
import json
import sys

from keras_dg import presets as presets_lib
from keras_dg.layers.batched_lstm_generator import INTERPOLATIONS
from keras_dg.models.config import DEFAULTS
from keras_dg.validation import check_float
from keras_dg.validation import check_int
from keras_dg.validation import check_positive_int

# === Flag types ===


def boolean(text):
    """true/false, yes/no, on/off or 1/0."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(
        f"expected true or false, got {text!r}"
    )


def boolean_or_auto(text):
    """true/false (as `boolean`), or auto for None."""
    if str(text).strip().lower() in ("auto", "none"):
        return None
    return boolean(text)


def names(text):
    """A comma-separated list of column names, or a JSON list of names
    (for names with commas: '["a,b", "c"]')."""
    text = str(text)
    if text.strip().startswith("["):
        try:
            result = json.loads(text)
        except ValueError:
            result = None
        if not isinstance(result, list) or not all(
            isinstance(n, str) and n for n in result
        ):
            raise argparse.ArgumentTypeError(
                f"expected a JSON list of column names, got {text!r}"
            )
        return result
    result = [n.strip() for n in text.split(",")]
    if not all(result):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names without empty entries, got "
            f"{text!r}"
        )
    return result


def _number(text, convert, check, expected):
    try:
        return check(convert(text), "value")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {expected}, got {text!r}"
        ) from None


def positive_int(text):
    return _number(text, int, check_positive_int, "a positive integer")


def optional_positive_int(text):
    """A positive integer, or none for None."""
    if str(text).strip().lower() == "none":
        return None
    return positive_int(text)


def non_negative_int(text):
    return _number(
        text, int, lambda v, n: check_int(v, n, minimum=0),
        "an integer >= 0",
    )


def fraction(text):
    return _number(
        text, float,
        lambda v, n: check_float(v, n, minimum=0, maximum=1,
                                 exclusive_maximum=True),
        "a number in [0, 1)",
    )


def duration(text):
    """Seconds, or a duration such as 90s, 10m, 1h, 1h30m."""
    from keras_dg.callbacks.time_budget import parse_duration

    try:
        return parse_duration(text, "value")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 90s, 10m, 1h, got "
            f"{text!r}"
        ) from None


def optional_fraction(text):
    """A number in [0, 1), or none/off for None."""
    if str(text).strip().lower() in ("none", "off", "null"):
        return None
    return fraction(text)


def interpolation(text):
    """true/false (as `boolean`; true is linear), linear, smooth or auto."""
    value = str(text).strip().lower()
    if value in INTERPOLATIONS:
        return value
    try:
        return boolean(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected false, {', '.join(INTERPOLATIONS)} or true (linear), "
            f"got {text!r}"
        ) from None


def _name_or_outputs(text, names):
    """One of `names`, or comma-separated feature output indices."""
    text = str(text).strip()
    if text in names:
        return text
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(names)} or comma-separated feature output "
            f"indices (e.g. 0,2), got {text!r}"
        ) from None


def block_heads(text):
    """auto, shared, per_position, or comma-separated feature output
    indices."""
    return _name_or_outputs(text, ("auto", "shared", "per_position"))


def step_noise_outputs(text):
    """auto, all, or comma-separated feature output indices."""
    return _name_or_outputs(text, ("auto", "all"))


def assignment(text):
    """NAME=VALUE, the value parsed as JSON when it is JSON (else a str)."""
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


# === Hyperparameter flags (the original names) ===

# name -> help. Types and defaults come from `keras_dg.models.config`; any
# other DoppelGANger argument can be set with --set NAME=VALUE.
_HYPERPARAMETER_HELP = {
    "sample_len": "S, time steps generated per LSTM step; must divide "
                  "the series length T",
    "aux_disc": "use the auxiliary attribute critic (true/false)",
    "self_norm": "auto-normalize each series and generate its "
                 "min/max as extra attributes (true/false)",
    "num_packing": "PacGAN degree: samples the critic sees at once",
    "noise": "per-LSTM-step noise input (true/false)",
    "feature_noise": "how that noise is drawn: auto (once per series when "
                     "every feature of the data is smooth, else at every "
                     "step), step (the paper) or series",
    "feed_back": "feed each step's output back into the LSTM "
                 "(true/false)",
    "initial_state": "LSTM initial state: random, zero or variable",
    "initial_stddev": "std of the learned initial state "
                      "(initial_state=variable)",
    "output_margin": "stretch of continuous outputs beyond their "
                     "range, clipped, so they reach its bounds "
                     "exactly (0 = the original's plain sigmoid)",
    "d_rounds": "critic rounds per batch",
    "g_rounds": "generator rounds per batch",
    "shared_noise": "draw the generator noise once per batch for "
                    "all rounds, as the original (true/false)",
    "d_gp_coe": "critic gradient-penalty weight",
    "attr_d_gp_coe": "auxiliary critic gradient-penalty weight",
    "g_attr_d_coe": "weight of the auxiliary critic in the "
                    "generator loss",
    "g_lr": "generator Adam learning rate",
    "d_lr": "critic Adam learning rate",
    "attr_d_lr": "auxiliary critic Adam learning rate",
    "beta1": "Adam beta_1 of the three optimizers",
    "beta2": "Adam beta_2 of the three optimizers",
    "gen_feature_num_layers": "LSTM layers of the feature generator",
    "gen_feature_num_units": "LSTM units of the feature generator",
    "gen_attribute_num_layers": "layers of the attribute generator MLP",
    "gen_attribute_num_units": "units of the attribute generator MLP",
    "disc_num_layers": "critic layers",
    "disc_num_units": "critic units per layer",
    "attr_disc_num_layers": "auxiliary critic layers",
    "attr_disc_num_units": "auxiliary critic units per layer",
    "attribute_latent_dim": "attribute noise width",
    "feature_latent_dim": "per-step feature noise width",
    "step_noise_dim": "width of a noise per time step; 0: none, as the paper",
    "step_noise_outputs": "feature outputs that take the step noise: auto "
                          "(all but the smooth ones in the data), all, or "
                          "their indices (e.g. 0,2)",
    "block_heads": "output heads of a block's positions: auto (per-position"
                   " heads for the features with a real period of sample_len"
                   " in the data), shared, per_position (the paper) or the "
                   "feature outputs to give them (e.g. 0,2)",
    "snap_to_grid": "generate the features whose training values lie on "
                    "a grid (counts, 0/1 flags) on that grid (false: the "
                    "paper)",
    "full_length": "every series runs the full length (true), the "
                   "generation flag ends them (false: the paper), or auto: "
                   "true when every training series is full length",
    "interpolate": "blend each block of sample_len steps from the previous "
                   "ones: auto (smooth on the smooth features of the data, "
                   "linear on the others), linear (or true), smooth (a "
                   "quadratic spline, no kink where blocks join) or false "
                   "(the paper)",
    "ema_decay": "decay of the generators' weight average that generation "
                 "uses, in [0, 1); none: the raw weights, as the paper",
}
# `sample_len` has no default: it depends on the series length.
_TYPES = {bool: boolean, int: int, float: float, str: str}
# Hyperparameters that also take None, with their flag type.
_OPTIONAL_TYPES = {
    "ema_decay": optional_fraction,
    "block_heads": block_heads,
    "step_noise_outputs": step_noise_outputs,
    "full_length": boolean_or_auto,
    "interpolate": interpolation,
}
HYPERPARAMETERS = {
    name: (
        _OPTIONAL_TYPES.get(name) or _TYPES[type(DEFAULTS.get(name, 0))],
        text,
    )
    for name, text in _HYPERPARAMETER_HELP.items()
}

TRAINING_FLAGS = {
    "epochs": (positive_int, "training epochs (the original's `epoch`)"),
    "batch_size": (positive_int, "series per batch"),
    "epoch_checkpoint_freq": (
        positive_int, "epochs between resumable checkpoints (backup/)"
    ),
    "extra_checkpoint_freq": (
        non_negative_int,
        "epochs between permanent .keras copies (checkpoints/); 0 for none",
    ),
    "vis_freq": (
        non_negative_int,
        "batches between sample pictures (samples/); 0 for pictures at "
        "checkpoints only",
    ),
    "vis_num_sample": (
        non_negative_int, "series per sample picture; 0 for no pictures"
    ),
    "select_batches": (
        non_negative_int,
        "model selection: about every N batches (whole epochs) the series "
        "generated are scored by their ACF MSE against the training "
        "series, and the best weights are kept; 0 for none (default 200; "
        "never under DP)",
    ),
}

_METAVARS = {
    int: "N", float: "X", boolean: "BOOL", str: "NAME", optional_fraction: "X",
    block_heads: "HEADS", boolean_or_auto: "BOOL|auto",
    step_noise_outputs: "OUTPUTS",
}


def _paper_default(name):
    """' (paper: X)' for the paper's global configuration, for help."""
    if name in presets_lib.GLOBAL_CONFIG:
        return f" (paper: {DEFAULTS[name]})"
    return ""


def _flag_names(name):
    """--sample_len and --sample-len."""
    flags = [f"--{name}"]
    if "_" in name:
        flags.append(f"--{name.replace('_', '-')}")
    return flags


def add_hyperparameter_flags(parser, budget=False):
    """The model's hyperparameters, --set, and the training options (with
    `budget`, also --budget)."""
    group = parser.add_argument_group(
        "model hyperparameters (the original names; default: the preset's "
        "value, see `keras-dg presets`)"
    )
    for name, (kind, text) in HYPERPARAMETERS.items():
        group.add_argument(
            *_flag_names(name), dest=f"hp_{name}", type=kind, default=None,
            metavar=_METAVARS.get(kind, "VALUE"),
            help=text + _paper_default(name),
        )
    group.add_argument(
        "--set", dest="hp_set", type=assignment, action="append",
        default=[], metavar="NAME=VALUE",
        help="any other DoppelGANger argument, e.g. --set "
             "dp_noise_multiplier=1.0 (VALUE parsed as JSON); repeatable",
    )
    train = parser.add_argument_group(
        "training options (default: the preset's value)"
    )
    for name, (kind, text) in TRAINING_FLAGS.items():
        train.add_argument(
            *_flag_names(name), dest=f"tr_{name}", type=kind, default=None,
            metavar="N", help=text,
        )
    if budget:
        add_budget_flag(train)


def model_kwargs(args):
    """The hyperparameter flags given (and --set) as model arguments."""
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


def training_options(args):
    """The training flags given (and --budget where the command has it),
    by their preset names."""
    options = {
        name: getattr(args, f"tr_{name}")
        for name in TRAINING_FLAGS
        if getattr(args, f"tr_{name}") is not None
    }
    if getattr(args, "tr_time_budget", None) is not None:
        options["time_budget"] = args.tr_time_budget
    return options


# === Single flags ===

VERBOSE_HELP = (
    "1: Keras progress bars, 2: one line per epoch, 0: quiet (default: 1 "
    "on a terminal, 2 when the output goes to a file or a pipe)"
)


def default_verbose():
    """1 (progress bars) when stdout is a terminal, else 2 (one line per
    epoch): the `--verbose` default (`pipeline.run`'s `verbose="auto"`)."""
    try:
        return 1 if sys.stdout.isatty() else 2
    except (AttributeError, ValueError):  # replaced or closed stdout
        return 2


def add_verbose_flag(group, help=VERBOSE_HELP):
    group.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=default_verbose(),
        help=help,
    )


def add_budget_flag(group):
    group.add_argument(
        "--budget", dest="tr_time_budget", type=duration, default=None,
        metavar="DURATION",
        help="wall-clock training budget, e.g. 600, 90s, 10m, 1h: training "
             "stops when it is spent, in place of the preset's epoch count "
             "(with --epochs too, whichever ends first)",
    )


def add_seed_flag(group, help, type=non_negative_int):
    group.add_argument("--seed", type=type, default=0, help=help)


def add_quick_flag(group, help):
    group.add_argument("--quick", action="store_true", help=help)


def add_overwrite_flag(group, help):
    group.add_argument("--overwrite", action="store_true", help=help)


def add_resume_flag(group, help):
    group.add_argument("--resume", action="store_true", help=help)


def add_cpu_threads_flag(group):
    group.add_argument(
        "--cpu-threads", type=positive_int, default=None, metavar="N",
        help="intra-op threads per op on CPU "
             "(keras_dg.runtime.set_cpu_threads; default: keras-dg's layout, "
             "1 on TensorFlow with one inter-op thread per core, which "
             "trained 1.11x faster than TensorFlow's own on 2 cores; "
             "KERAS_DG_CPU_THREADS=off keeps the backend's own)",
    )


def apply_cpu_threads(args):
    """`--cpu-threads`, before any backend op runs."""
    if args.cpu_threads is not None:
        from keras_dg.runtime import set_cpu_threads

        set_cpu_threads(intra_op=args.cpu_threads)


# === Run flags (train) ===


def add_run_flags(parser, out_default=None):
    """--out, --quick, --seed, --n-generate, --metrics, --no-report,
    --overwrite, --resume, --cpu-threads, --verbose."""
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out", "-o", default=out_default, required=out_default is None,
        metavar="DIR",
        help="folder of the run: model.keras, generated/, report/, "
             "checkpoints" + (f" (default: {out_default})" if out_default
                              else ""),
    )
    add_quick_flag(
        run, "smoke run: the preset's tiny model, 2 epochs and small data "
             "(seconds; checks the plumbing, not the fidelity)",
    )
    add_seed_flag(
        run, "seed of initialization, training noise, generation, "
             "evaluation (default: 0)",
    )
    run.add_argument(
        "--n-generate", type=positive_int, default=None, metavar="N",
        help="series to generate (default: as many as training series)",
    )
    run.add_argument(
        "--metrics", type=names, default=None, metavar="NAMES",
        help="comma-separated metrics of the report (default: all that "
             "apply), e.g. acf_mse,attribute_jsd",
    )
    run.add_argument(
        "--no-report", action="store_true",
        help="skip the evaluation report",
    )
    add_overwrite_flag(
        run, "replace a previous run in --out (only its own files)"
    )
    add_resume_flag(
        run, "continue a previous run in --out from its last checkpoint"
    )
    add_cpu_threads_flag(run)
    add_verbose_flag(run)


# === Data flags (train, tune) ===


def _recipe_names():
    from keras_dg.data.recipes import RECIPES

    return sorted(RECIPES)


def _add_source_flags(parser):
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
        "--recipe", choices=_recipe_names(),
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


# The --table options, in the order of the help: flag -> add_argument
# keywords.
_TABLE_FLAGS = {
    "--layout": dict(
        choices=("long", "wide"), default="long",
        help="long: one row per series and time step (default); wide: one "
             "row per series, one column per step",
    ),
    "--example-id": dict(
        metavar="COLUMN",
        help="column naming each row's series (required for long tables; "
             "optional for wide ones)",
    ),
    "--time": dict(
        metavar="COLUMN",
        help="long tables: column ordering the steps (numbers or dates); "
             "default: row order",
    ),
    "--features": dict(
        type=names, action="extend", metavar="COLUMNS",
        help="comma-separated feature columns; default (long): every other "
             "column. Wide tables: the step columns in time order; shell "
             "patterns work, e.g. 'day_*'. Every column list may repeat its "
             "flag, and takes a JSON list for names with commas: "
             "'[\"a,b\", \"c\"]'",
    ),
    "--attributes": dict(
        type=names, action="extend", default=[], metavar="COLUMNS",
        help="comma-separated per-series metadata columns (none: the model "
             "trains on the features alone; constant ones are restored on "
             "output)",
    ),
    "--log1p": dict(
        type=names, action="extend", default=[], metavar="COLUMNS",
        help="numeric columns to log1p-transform before scaling (the "
             "paper's page views; heavy-tailed positive columns); wide "
             "tables: 'value'",
    ),
    "--discrete": dict(
        type=names, action="extend", default=[], metavar="COLUMNS",
        help="columns to encode as categories (numbers too)",
    ),
    "--normalization": dict(
        choices=("ZERO_ONE", "MINUSONE_ONE"), default="ZERO_ONE",
        help="range of the scaled continuous columns (default: ZERO_ONE)",
    ),
    "--missing": dict(
        choices=("raise", "interpolate", "drop", "model"), default="raise",
        help="missing values (and gaps in a regular --time grid): raise an "
             "error naming them (default), interpolate within each series, "
             "drop the series, or model them (each feature with gaps gets "
             "a missingness channel; generated tables have NaN where it "
             "says missing)",
    ),
    "--outliers": dict(
        choices=("error", "clip", "keep"), default="error",
        help="values far outside the bulk of a numeric column (over 1000 "
             "median absolute deviations): an error naming their rows "
             "(default), clip them to the other values' range, or keep them",
    ),
    "--non-numeric": dict(
        choices=("raise", "missing"), default="raise",
        help="the words in a mostly numeric column: an error naming their "
             "rows (default), or make them missing values (see --missing)",
    ),
    "--max-categories": dict(
        type=optional_positive_int, default=100, metavar="N",
        help="most categories a text column may have, and no column with a "
             "different value in every row (default: 100; none: no limit)",
    ),
    "--max-sequence-len": dict(
        type=positive_int, metavar="T",
        help="padded series length (default: the longest series, rounded "
             "up to a multiple of sample_len)",
    ),
    "--truncate": dict(
        action="store_true",
        help="cut series longer than --max-sequence-len instead of failing",
    ),
    "--test-table": dict(
        metavar="FILE",
        help="held-out table with the same columns, for the report",
    ),
}
_RECIPE_FLAGS = {
    "--data": dict(
        metavar="DIR",
        help="the recipe's data in the original format (mba: required; "
             "wwt, gcut: without it, SYNTHETIC stand-in data)",
    ),
    "--num-series": dict(
        type=positive_int, metavar="N",
        help="at most N training series (stand-ins: generate N)",
    ),
}


def _add_group(parser, title, flags):
    group = parser.add_argument_group(title)
    for flag, options in flags.items():
        group.add_argument(flag, **options)


def add_data_flags(parser):
    """Where the training data come from: --data-dir, --table or --recipe,
    each with its options, and --test-fraction and --preset."""
    _add_source_flags(parser)
    _add_group(parser, "--table options (column roles)", _TABLE_FLAGS)
    parser.add_argument(
        "--test-fraction", type=fraction, default=0.0, metavar="F",
        help="hold out this share of the series for the report when there "
             "is no test split/table (default: 0)",
    )
    _add_group(parser, "--recipe options", _RECIPE_FLAGS)
    parser.add_argument(
        "--preset", default=None, metavar="NAME",
        help="named configuration: " + ", ".join(presets_lib.preset_names())
             + " (default: the recipe's; else train uses the model's "
               "defaults with sample_len and batch_size chosen from the "
               "data, printed and saved in run.json, and tune uses web)",
    )


def check_source_flags(args):
    """Refuses the options of one data source used with another."""
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
        "--outliers": args.outliers != "error",
        "--non-numeric": args.non_numeric != "raise",
        "--max-categories": args.max_categories != 100,
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
