"""The `keras-dg` command: train, generate, evaluate, demo, tune, presets.

A thin layer over the library: it parses flags and calls
`keras_dg.pipeline`, `keras_dg.data` and `keras_dg.evaluation`. Each
subcommand is one module of this package (`add_arguments(parser)` and
`run(args)`) and one entry of `COMMANDS` (name -> `Command`); the flags they
share are in `keras_dg.cli.flags`.

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
import sys

from keras_dg.cli import demo
from keras_dg.cli import evaluate
from keras_dg.cli import generate
from keras_dg.cli import presets
from keras_dg.cli import train
from keras_dg.cli import tune
from keras_dg.cli.flags import HYPERPARAMETERS
from keras_dg.cli.flags import TRAINING_FLAGS
from keras_dg.cli.registry import COMMANDS
from keras_dg.cli.registry import PROG
from keras_dg.cli.registry import Command
from keras_dg.cli.registry import register_command
from keras_dg.cli.registry import register_module

__all__ = [
    "COMMANDS", "Command", "HYPERPARAMETERS", "PROG", "TRAINING_FLAGS",
    "build_parser", "main", "register_command",
]

USER_ERRORS = (
    ValueError, FileNotFoundError, PermissionError, IsADirectoryError,
    NotADirectoryError, FileExistsError,
)

for _name, _module in (
    ("train", train), ("generate", generate), ("evaluate", evaluate),
    ("demo", demo), ("tune", tune), ("presets", presets),
):
    register_module(_name, _module)


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
