"""`keras-dg train`: train on a dataset folder, a table or a recipe.

Also the data loading that `keras-dg tune` shares (`training_data`) and the
pipeline call that `keras-dg demo` shares (`run_pipeline`).
"""

from keras_dg import presets as presets_lib
from keras_dg.cli import flags

HELP = "train a model on a dataset folder, a table or a recipe"
DESCRIPTION = (
    "Train DoppelGANger, save model.keras, generate data (npz, and CSV in "
    "real units) and write a fidelity report, all into --out."
)
USAGE = (
    "%(prog)s (--data-dir DIR | --table FILE | --recipe NAME) --out DIR "
    "[options]"
)
# How `load_table_data` names its arguments: the flags.
TABLE_FLAG_NAMES = {
    "path": "--table",
    "test_path": "--test-table",
    "layout": "--layout",
    "example_id": "--example-id",
    "time": "--time",
    "features": "--features",
    "attributes": "--attributes",
}


def add_arguments(parser):
    flags.add_data_flags(parser)
    flags.add_hyperparameter_flags(parser, budget=True)
    flags.add_run_flags(parser)


def _table_data(args, preset):
    """The --table data; without a preset or --sample_len, the series keep
    their length (no padding to a multiple): the run then chooses a
    sample_len that divides it."""
    from keras_dg.data.readers import load_table_data

    sample_len = args.hp_sample_len or (
        preset["config"]["sample_len"] if preset else 1
    )
    return load_table_data(
        args.table, layout=args.layout, example_id=args.example_id,
        time=args.time, features=args.features, attributes=args.attributes,
        test_path=args.test_table, names=TABLE_FLAG_NAMES,
        max_sequence_len=args.max_sequence_len,
        sample_len=sample_len,
        normalization=args.normalization, log1p=args.log1p,
        discrete=args.discrete, missing=args.missing, truncate=args.truncate,
        outliers=args.outliers, non_numeric=args.non_numeric,
        max_categories=args.max_categories,
    )


def _check_sample_len(data, preset, model_kwargs):
    from keras_dg.pipeline.data_defaults import divisors

    if "sample_len" in model_kwargs:
        sample_len, source = model_kwargs["sample_len"], "--sample_len"
    elif preset is not None:
        sample_len = preset["config"]["sample_len"]
        source = f"The preset {preset['name']!r} uses sample_len"
    else:
        return  # Chosen from the data by the run.
    t = data["train"].max_sequence_len
    if t % sample_len:
        raise ValueError(
            f"{source}={sample_len}, which does not divide the series "
            f"length {t}. Pass --sample_len with a divisor of {t}: "
            f"{divisors(t)}."
        )


def training_data(args, from_data=False):
    """(data dict, preset, model kwargs) from the data and model flags.

    Without --preset: a recipe's preset; else, with `from_data`, None (the
    run chooses sample_len and batch_size from the data), else `web`.
    """
    from keras_dg.data.readers import load_folder_data
    from keras_dg.data.recipes import RECIPES
    from keras_dg.data.recipes import load_recipe
    from keras_dg.data.splits import split_dataset

    flags.check_source_flags(args)
    if args.recipe:
        preset_name = args.preset or RECIPES[args.recipe]
    else:
        preset_name = args.preset or (None if from_data else "web")
    preset = None if preset_name is None else presets_lib.get_preset(
        preset_name, quick=args.quick
    )
    model_kwargs = flags.model_kwargs(args)
    if args.recipe:
        data = load_recipe(
            args.recipe, data_dir=args.data, quick=args.quick, seed=args.seed,
            num_series=args.num_series,
        )
    elif args.table:
        data = _table_data(args, preset)
    else:
        data = load_folder_data(args.data_dir, args.split, args.test_split)
        _check_sample_len(data, preset, model_kwargs)
    if args.test_fraction:
        if data.get("test") is not None:
            raise ValueError(
                "--test-fraction is for data without a test split; this "
                "data has one."
            )
        data["train"], data["test"] = split_dataset(
            data["train"], args.test_fraction, args.seed
        )
    return data, preset, model_kwargs


def run_pipeline(args, data, preset, model_kwargs=None, training=None):
    """`keras_dg.pipeline.run` with the run flags; prints the paths when
    quiet (they are the command's output)."""
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
    if not args.verbose:
        print(result.describe())
    return result


def run(args):
    flags.apply_cpu_threads(args)
    data, preset, model_kwargs = training_data(args, from_data=True)
    run_pipeline(
        args, data, None if preset is None else preset["name"], model_kwargs,
        flags.training_options(args),
    )
    return 0
