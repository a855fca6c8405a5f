"""Settings from the data, for a run without a preset.

`settings_from_data(train)` chooses what a preset would otherwise fix and
the data decide better:

- `sample_len` (S, the time steps one LSTM step emits): a divisor of the
  series length T (the model needs one) that gives about
  `TARGET_LSTM_STEPS` = 50 LSTM steps. That is the paper's setting for its
  longest tuned series, page views (T=550, S=10: 55 steps), and the
  flights preset's (T=364, S=7: 52 steps); shorter series get S=1 (every
  step its own LSTM step, as the paper's sweeps allow). When T has no
  divisor near T/50, the nearest one (on a log scale) is taken and said.
- `batch_size`: about `UPDATES_PER_EPOCH` = 10 updates an epoch (the
  flights preset: 187 series, batch 20), at least 16 series (or all of
  them, when fewer) and at most the paper's 100.

The other settings are the model's defaults (the `web` preset: the paper's
global configuration with the auxiliary critic and auto-normalization on).
The learning rates, Adam's betas and the critic/generator rounds stay the
paper's (1e-3 for all three networks, (0.5, 0.999), one round each), not
chosen from the data: at an equal CPU budget on flights and mba, 2e-3 and
3e-4, a two-timescale critic (4x the generator's rate), WGAN-GP's betas
(0, 0.9), two critic rounds and a smaller batch were each no better than
them beyond the spread over seeds, and most were worse
(benchmarks/RESULTS.md, *Learning rates, betas, rounds and batch size*).
"""

import math

# The preset a run without one starts from (the model's defaults).
BASE_PRESET = "web"
TARGET_LSTM_STEPS = 50
UPDATES_PER_EPOCH = 10
MIN_BATCH_SIZE = 16
MAX_BATCH_SIZE = 100


def divisors(n):
    """The divisors of `n`, ascending."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def sample_len_for(max_sequence_len):
    """The divisor S of T whose T/S is nearest (on a log scale) to
    `TARGET_LSTM_STEPS`; the smaller S on a tie."""
    t = max_sequence_len
    return min(
        divisors(t),
        key=lambda s: (abs(math.log((t / s) / TARGET_LSTM_STEPS)), s),
    )


def batch_size_for(num_series):
    """About `UPDATES_PER_EPOCH` batches an epoch, within
    [`MIN_BATCH_SIZE` (or all series), `MAX_BATCH_SIZE`]."""
    batch = round(num_series / UPDATES_PER_EPOCH)
    batch = min(MAX_BATCH_SIZE, max(MIN_BATCH_SIZE, batch))
    return max(1, min(batch, num_series))


def settings_from_data(train, skip=()):
    """The data-derived settings of a run on `train` (a
    `TimeSeriesDataset`), but for the names in `skip` (given by the user).

    Returns `{name: {"value": ..., "why": str}}` for `sample_len` and
    `batch_size`.
    """
    settings = {}
    t, n = train.max_sequence_len, len(train)
    if "sample_len" not in skip:
        s = sample_len_for(t)
        why = (
            f"divides the series length T={t} into {t // s} LSTM steps "
            f"(rule of thumb: about {TARGET_LSTM_STEPS})"
        )
        if not 0.5 <= (t / s) / TARGET_LSTM_STEPS <= 2:
            why += (
                f"; T={t} has no divisor nearer: pass --sample_len to "
                "choose another"
            )
        settings["sample_len"] = {"value": s, "why": why}
    if "batch_size" not in skip:
        b = batch_size_for(n)
        settings["batch_size"] = {
            "value": b,
            "why": (
                f"{n} training series: {math.ceil(n / b)} updates an epoch "
                f"(about {UPDATES_PER_EPOCH}, batches of "
                f"{MIN_BATCH_SIZE}-{MAX_BATCH_SIZE})"
            ),
        }
    return settings


def describe(settings):
    """One line per setting, for printing."""
    return "\n".join(
        f"  {name}={entry['value']}: {entry['why']}"
        for name, entry in settings.items()
    )
