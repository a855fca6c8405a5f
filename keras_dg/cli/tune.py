"""`keras-dg tune`: a KerasTuner search for the best held-out fidelity."""

import json

from keras_dg.cli import flags
from keras_dg.cli.train import training_data

HELP = "search hyperparameters with KerasTuner"
DESCRIPTION = (
    "Search DoppelGANger's hyperparameters (sample_len, learning rates, "
    "d_rounds, num_packing, aux_disc, self_norm, sizes, GP weights) with "
    "KerasTuner for the best held-out fidelity (acf_mse + attribute_jsd); "
    "save the best model. Hyperparameter flags fix a value. Distributed: "
    "see docs/scaling.md."
)
USAGE = (
    "%(prog)s (--data-dir DIR | --table FILE | --recipe NAME) --out DIR"
    " [options]"
)


def add_arguments(parser):
    flags.add_data_flags(parser)
    flags.add_hyperparameter_flags(parser)
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
        "--max-trials", type=flags.positive_int, default=10, metavar="N",
        help="trials to run (default: 10)",
    )
    flags.add_quick_flag(
        search, "smoke run: the preset's tiny model and small data"
    )
    flags.add_seed_flag(
        search, "seed of the trials and the oracle (default: 0)"
    )
    flags.add_overwrite_flag(
        search, "discard a previous search in --out instead of resuming it"
    )
    flags.add_verbose_flag(
        search, "verbosity of the tuner and of each trial's fit (default: 1)"
    )


def run(args):
    from keras_dg import tuning

    data, preset, model_kwargs = training_data(args)
    if data.get("test") is None:
        raise ValueError(
            "Tuning scores each trial on held-out series: give data with a "
            "test split, --test-table, or --test-fraction."
        )
    training = {**preset.get("training", {}), **flags.training_options(args)}
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
