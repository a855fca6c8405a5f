"""What the `keras-dg` command tests share: running it and checking errors."""

from keras_dg import cli

# Flags of a tiny, fast training run.
TINY = [
    "--quick", "--sample_len", "2", "--epochs", "1", "--verbose", "0",
    "--metrics", "acf_mse,lengths",
]


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of `keras-dg argv...`."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(capsys, match, *argv):
    """`keras-dg argv...` fails with exit code 2 and one line naming
    `match`, without a traceback."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert match in err, err
    assert "Traceback" not in err + out
    return err
