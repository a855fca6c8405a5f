import types

import pytest

from keras_dg.cli import registry


@pytest.fixture
def empty_table(monkeypatch):
    monkeypatch.setattr(registry, "COMMANDS", {})
    return registry


def test_register_module_reads_the_module_constants(empty_table):
    module = types.SimpleNamespace(
        HELP="h", DESCRIPTION="d", add_arguments=lambda p: None,
        run=lambda a: 0,
    )
    empty_table.register_module("x", module)
    command = empty_table.COMMANDS["x"]
    assert (command.help, command.description, command.usage) == (
        "h", "d", None
    )
    assert command.handler is module.run
    with pytest.raises(ValueError, match="'x' is already registered"):
        empty_table.register_command("x", "", "", None, None)
