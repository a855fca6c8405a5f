import json

from tests.cli.harness import assert_user_error
from tests.cli.harness import run_cli


def test_presets_command(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0 and "FCC_MBA" in out and "flights" in out
    code, out, _ = run_cli(capsys, "presets", "mba")
    assert code == 0
    assert json.loads(out)["training"]["epochs"] == 17000
    assert_user_error(capsys, "Unknown preset", "presets", "nope")
