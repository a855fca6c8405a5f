"""`TimeBudget` and `parse_duration` (`keras_dg/callbacks/time_budget.py`)."""

import keras
import pytest

from keras_dg.callbacks import UNLIMITED_EPOCHS
from keras_dg.callbacks import TimeBudget
from keras_dg.callbacks import parse_duration
from keras_dg.callbacks.time_budget import format_duration
from tests.harness import quick_fit
from tests.harness import tiny_dataset
from tests.harness import tiny_model


class FakeClock:
    """Advances `step` seconds at every reading."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


@pytest.mark.parametrize(
    "value, seconds",
    [
        (90, 90.0), (0, 0.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0),
        ("10m", 600.0), ("1h", 3600.0), ("1.5h", 5400.0),
        ("1h30m", 5400.0), (" 2 m ", 120.0), ("1H", 3600.0),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "ten minutes", "10 min", "10d", "-5", "m", -1, True,
              float("nan"), [10]],
)
def test_parse_duration_refuses(value):
    with pytest.raises(ValueError, match=r"`time_budget` must be .*'10m'"):
        parse_duration(value)


def test_parse_duration_none():
    assert parse_duration(None, allow_none=True) is None
    with pytest.raises(ValueError, match="time_budget"):
        parse_duration(None)


def test_format_duration():
    assert format_duration(600) == "10m 0s"
    assert format_duration(5400) == "1h 30m"
    assert format_duration(42.4) == "42s"


def test_budget_stops_at_the_batch_that_crosses_it():
    model = tiny_model()
    model.compile(steps_per_execution=1)  # A check after every batch.
    # 3 batches an epoch; the clock reads 0 at the start and 10 s more at
    # every batch: 25 s are crossed at the 3rd batch (30 s).
    budget = TimeBudget("25s", clock=FakeClock(10.0))
    history = quick_fit(
        model, tiny_dataset(n=12), epochs=UNLIMITED_EPOCHS,
        callbacks=[budget],
    )
    assert history.epoch == [0]
    assert int(model.g_optimizer.iterations) == 3
    assert budget.stopped_epoch == 0 and budget.elapsed == 30.0


@pytest.mark.skipif(
    keras.config.backend() == "torch",
    reason="PyTorch's trainer runs one step per call",
)
def test_budget_stops_at_the_end_of_the_call_that_crosses_it():
    # Two steps per call, 3 batches an epoch: calls of 2 and 1 steps. The
    # clock reads 10 s more at every call: 25 s are crossed by the third
    # call, the first of epoch 2.
    model = tiny_model()
    model.compile(steps_per_execution=2)
    budget = TimeBudget("25s", clock=FakeClock(10.0))
    history = quick_fit(
        model, tiny_dataset(n=12), epochs=UNLIMITED_EPOCHS,
        callbacks=[budget],
    )
    assert history.epoch == [0, 1]
    assert int(model.g_optimizer.iterations) == 5
    assert budget.stopped_epoch == 1 and budget.elapsed == 30.0


def test_budget_mid_epoch_finishes_that_batch_only():
    model = tiny_model()
    model.compile()
    budget = TimeBudget(15, clock=FakeClock(10.0))
    history = quick_fit(model, tiny_dataset(n=12), epochs=5,
                        callbacks=[budget])
    assert history.epoch == [0]
    assert int(model.g_optimizer.iterations) == 2


def test_training_that_ends_first_is_not_stopped():
    model = tiny_model()
    model.compile()
    budget = TimeBudget("1h")
    history = quick_fit(model, tiny_dataset(n=8), epochs=2,
                        callbacks=[budget])
    assert history.epoch == [0, 1]
    assert budget.stopped_epoch is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="seconds"):
        TimeBudget("soon")
    with pytest.raises(ValueError, match="clock"):
        TimeBudget(1, clock=3)
