"""The table of `keras-dg` subcommands: name -> `Command`."""

import dataclasses

PROG = "keras-dg"


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
    """Adds a subcommand to `COMMANDS`; a new subcommand adds one entry."""
    if name in COMMANDS:
        raise ValueError(f"The command {name!r} is already registered.")
    COMMANDS[name] = Command(help, description, add_arguments, handler, usage)


def register_module(name, module):
    """Registers a command module: its `HELP`, `DESCRIPTION`, optional
    `USAGE`, `add_arguments(parser)` and `run(args)`."""
    register_command(
        name, module.HELP, module.DESCRIPTION, module.add_arguments,
        module.run, usage=getattr(module, "USAGE", None),
    )
