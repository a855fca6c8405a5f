"""Tests of the A/B budgets of benchmarks/fidelity.py and ours_dg.py:
`--epochs`, `--clock cpu` and `--batch-size`."""

import sys
import time

import pytest

from tests.benchmarks.common_test import BENCH


def _import(name):
    sys.path.insert(0, BENCH)
    try:
        return __import__(name)
    finally:
        sys.path.remove(BENCH)


def test_fidelity_budget_flags_parse_and_bad_ones_are_refused():
    fidelity = _import("fidelity")
    args = fidelity.parse_args([
        "--sides", "ours", "--datasets", "flights", "--clock", "cpu",
        "--seconds", "30", "--batch-size", "40",
    ])
    assert (args.clock, args.seconds, args.batch_size, args.epochs) == (
        "cpu", 30.0, 40, None)
    args = fidelity.parse_args(["--sides", "ours", "--epochs", "5"])
    assert args.epochs == 5 and args.clock == "wall"
    for bad in (["--epochs", "0"], ["--batch-size", "0"], ["--clock", "gpu"]):
        with pytest.raises(SystemExit):
            fidelity.parse_args(["--sides", "ours", *bad])


def test_the_peer_takes_the_cpu_clock_but_not_epochs(monkeypatch):
    fidelity = _import("fidelity")
    monkeypatch.setattr(fidelity, "PEER_PYTHON", sys.executable)  # a venv
    args = fidelity.parse_args(
        ["--sides", "peer", "--clock", "cpu", "--seconds", "30"])
    assert (args.sides, args.clock, args.seconds) == (["peer"], "cpu", 30.0)
    with pytest.raises(SystemExit):
        fidelity.parse_args(["--sides", "peer", "--epochs", "3"])


def test_ours_dg_takes_epochs_or_seconds_for_fidelity():
    ours_dg = _import("ours_dg")
    args = ours_dg.parse_args(["--shape", "mba", "--task", "fidelity", "--epochs", "3"])
    assert (args.epochs, args.seconds, args.clock) == (3, None, "wall")
    args = ours_dg.parse_args(
        ["--shape", "mba", "--task", "fidelity", "--seconds", "9", "--clock", "cpu"])
    assert (args.epochs, args.seconds, args.clock) == (0, 9.0, "cpu")
    assert ours_dg.parse_args(["--shape", "mba", "--task", "train"]).epochs == 1
    with pytest.raises(SystemExit):
        ours_dg.parse_args(["--shape", "mba", "--task", "fidelity"])


class _Model:
    stop_training = False


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_budget_stops_on_its_clock(clock):
    ours_dg = _import("ours_dg")
    budget = ours_dg._Budget(0.05, clock)
    budget.callback.set_model(model := _Model())
    with budget.meter:
        budget.callback.on_train_batch_end(0)
        assert not model.stop_training
        if clock == "wall":
            time.sleep(0.06)  # no CPU spent: only the wall clock runs out
        else:
            end = time.process_time() + 0.06
            while time.process_time() < end:
                pass
        budget.callback.on_train_batch_end(1)
    assert model.stop_training


def test_cpu_budget_ignores_time_spent_waiting():
    ours_dg = _import("ours_dg")
    budget = ours_dg._Budget(0.5, "cpu")
    budget.callback.set_model(model := _Model())
    with budget.meter:
        time.sleep(0.6)  # wall time passes, CPU time does not
        budget.callback.on_train_batch_end(0)
    assert not model.stop_training


def test_selection_flags_parse_and_bad_ones_are_refused():
    fidelity, ours_dg = _import("fidelity"), _import("ours_dg")
    args = fidelity.parse_args([
        "--sides", "ours", "--select-batches", "200", "--select-holdout", "0.2"])
    assert (args.select_batches, args.select_holdout) == (200, 0.2)
    assert fidelity.columns(args) == ["ours", "ours-last"]
    # Selection is on by default (as in `keras-dg train`), ours only.
    assert fidelity.parse_args(["--sides", "ours"]).select_batches == 200
    assert fidelity.columns(fidelity.parse_args(
        ["--sides", "ours", "--select-batches", "0"])) == ["ours"]
    for bad in (["--select-batches", "-1"], ["--select-holdout", "1"]):
        with pytest.raises(SystemExit):
            fidelity.parse_args(["--sides", "ours", *bad])
    fidelity_flags = ["--shape", "mba", "--task", "fidelity", "--epochs", "2"]
    args = ours_dg.parse_args(
        fidelity_flags + ["--out", "x.npz", "--select-batches", "3"])
    assert (args.select_batches, args.select_holdout) == (3, 0.0)
    for bad in (["--select-batches", "3"],  # no --out for the two series files
                ["--out", "x.npz", "--select-batches", "-1"],
                ["--out", "x.npz", "--select-batches", "2", "--select-holdout", "1.5"]):
        with pytest.raises(SystemExit):
            ours_dg.parse_args(fidelity_flags + bad)
