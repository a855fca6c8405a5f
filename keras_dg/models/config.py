"""DoppelGANger's hyperparameters: each default once, with one line of doc.

`DEFAULTS` maps every `keras_dg.DoppelGANger` constructor argument that has
a default to that default, under the original code's names
(`example_training/config.py`; the values of ALGORITHM §5). The model's
signature, `keras_dg.presets.GLOBAL_CONFIG` and the `keras-dg` command read
their defaults from here. `DOCS` holds one line per name, grouped as in
gretel's `DGANConfig`: model structure, loss, training, privacy, other.

Example:

>>> from keras_dg.models.config import DEFAULTS
>>> DEFAULTS["d_gp_coe"], DEFAULTS["g_lr"], DEFAULTS["aux_disc"]
(10.0, 0.001, True)
"""

from keras_dg.layers.batched_lstm_generator import FEATURE_NOISE
from keras_dg.layers.batched_lstm_generator import INITIAL_STATES
from keras_dg.layers.batched_lstm_generator import check_interpolate
from keras_dg.validation import check_bool
from keras_dg.validation import check_float
from keras_dg.validation import check_int
from keras_dg.validation import check_non_negative_float
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int

# `(default, doc)` per name, by group.
STRUCTURE = {
    "aux_disc": (True, "Use the auxiliary attribute critic."),
    "self_norm": (
        True, "Auto-normalize each series; generate its min/max as extra "
        "attributes."
    ),
    "num_packing": (1, "PacGAN degree: samples the critics see at once."),
    "noise": (True, "Per-LSTM-step noise for the feature generator."),
    "feature_noise": (
        "auto", "How that noise is drawn: anew at every LSTM step (step), "
        "once per series and held (series), or auto (series when every "
        "feature of the training data is smooth)."
    ),
    "feed_back": (False, "Feed the previous LSTM step's outputs back."),
    "initial_state": (
        "random", "LSTM initial state: random, zero or variable."
    ),
    "initial_stddev": (0.02, "Std of the learned (variable) initial state."),
    "output_margin": (
        0.01, "Stretch of continuous outputs past their range, clipped."
    ),
    "gen_feature_num_layers": (1, "LSTM layers of the feature generator."),
    "gen_feature_num_units": (100, "LSTM units of the feature generator."),
    "gen_attribute_num_layers": (3, "Layers of the attribute MLPs."),
    "gen_attribute_num_units": (100, "Units of the attribute MLPs."),
    "disc_num_layers": (5, "Layers of the critic."),
    "disc_num_units": (200, "Units of the critic."),
    "attr_disc_num_layers": (5, "Layers of the auxiliary critic."),
    "attr_disc_num_units": (200, "Units of the auxiliary critic."),
    "attribute_latent_dim": (5, "Width of the attribute noise."),
    "feature_latent_dim": (5, "Width of the per-step feature noise."),
    "step_noise_dim": (
        5, "Width of a noise per time step (not per LSTM step); 0: none (the "
        "original)."
    ),
    "step_noise_outputs": (
        "auto", "Feature outputs that take the step noise: all, a list, or "
        "auto (all but the smooth ones found in the training data)."
    ),
    "block_heads": (
        "auto", "Heads of a block's positions: shared, per_position (the "
        "original), the feature outputs with a real period of S, or auto "
        "(those found in the training data)."
    ),
    "interpolate": (
        "auto", "Blend each block from the previous ones: smooth (a "
        "quadratic spline), linear (True), auto (smooth on the smooth "
        "features found in the training data, else linear), or False (the "
        "original)."
    ),
    "snap_to_grid": (
        True, "Generate the features whose training values lie on a grid "
        "(counts, 0/1 flags) on that grid (False: the original)."
    ),
    "full_length": (
        None, "Every series runs the full length (True), the generation "
        "flag ends them (False: the original), or None: decided by the data."
    ),
}
LOSS = {
    "d_gp_coe": (10.0, "Gradient-penalty weight of the critic."),
    "attr_d_gp_coe": (10.0, "Gradient-penalty weight of the aux critic."),
    "g_attr_d_coe": (
        1.0, "Weight of the aux critic in the generator's loss."
    ),
}
TRAINING = {
    "d_rounds": (1, "Critic rounds per batch."),
    "g_rounds": (1, "Generator rounds per batch."),
    "shared_noise": (
        True, "One noise draw per batch for every round (the original's)."
    ),
    "g_lr": (1e-3, "Adam learning rate of the generator."),
    "d_lr": (1e-3, "Adam learning rate of the critic."),
    "attr_d_lr": (1e-3, "Adam learning rate of the aux critic."),
    "beta1": (0.5, "Adam beta_1 of the three optimizers."),
    "beta2": (0.999, "Adam beta_2 of the three optimizers."),
    "fix_feature_network": (
        False, "Retraining mode: only the attribute generator trains."
    ),
    # Off by default: on flights at 180 s (3 seeds) the average (0.999) had
    # a worse ACF MSE than the raw weights (0.0178 against 0.0159) for a
    # slightly better attribute JSD (benchmarks/RESULTS.md, *Fidelity*).
    "ema_decay": (
        None, "Decay of the generators' weight average that `generate` "
        "uses (e.g. 0.999); None: the raw weights (the original)."
    ),
}
PRIVACY = {
    "dp_noise_multiplier": (None, "DP-SGD noise of the critics; None: no DP."),
    "dp_l2_norm_clip": (1.0, "DP-SGD per-example clipping norm."),
    "privacy": (None, "Privacy budget spent so far (written by callbacks)."),
}
OTHER = {
    "seed": (None, "Seed of the training noise."),
    "transformer": (None, "TableTransformer mapping tables to the encoding."),
}
GROUPS = {
    "structure": STRUCTURE,
    "loss": LOSS,
    "training": TRAINING,
    "privacy": PRIVACY,
    "other": OTHER,
}

# Where keras-dg's defaults depart from the original on purpose, the
# original's values: `DoppelGANger(**PAPER)` trains the paper's model, and a
# saved config without these keys (written before they existed) loads as it.
PAPER = {
    "step_noise_dim": 0,
    "step_noise_outputs": "all",
    "block_heads": "per_position",
    "interpolate": False,
    "feature_noise": "step",
    "snap_to_grid": False,
    "full_length": False,
    "ema_decay": None,
}

# A network small enough to compile and train in seconds: the `--quick`
# runs of the presets and recipes (`DoppelGANger(**QUICK)`, smoke tests).
QUICK = {
    "gen_feature_num_units": 16,
    "gen_attribute_num_units": 16,
    "gen_attribute_num_layers": 2,
    "disc_num_units": 16,
    "disc_num_layers": 2,
    "attr_disc_num_units": 16,
    "attr_disc_num_layers": 2,
}

DEFAULTS = {
    name: default
    for group in GROUPS.values()
    for name, (default, _) in group.items()
}
DOCS = {
    name: doc for group in GROUPS.values() for name, (_, doc) in group.items()
}

_BOOLS = (
    "aux_disc", "self_norm", "noise", "feed_back", "shared_noise",
    "fix_feature_network", "snap_to_grid",
)
_POSITIVE_INTS = (
    "num_packing", "d_rounds", "g_rounds", "gen_feature_num_layers",
    "gen_feature_num_units", "gen_attribute_num_layers",
    "gen_attribute_num_units", "disc_num_layers", "disc_num_units",
    "attr_disc_num_layers", "attr_disc_num_units", "attribute_latent_dim",
    "feature_latent_dim",
)
_NON_NEGATIVE_FLOATS = (
    "d_gp_coe", "attr_d_gp_coe", "g_attr_d_coe", "output_margin",
)
_POSITIVE_FLOATS = ("g_lr", "d_lr", "attr_d_lr", "dp_l2_norm_clip")


def check_hyperparameters(values):
    """Checks the hyperparameters of `DEFAULTS` in `values`.

    Args:
        values: dict holding every name of `DEFAULTS`.

    Returns:
        A new dict of the checked values, cleaned by `keras_dg.validation`
        (NumPy scalars as `int`, `float`, `bool`); the others as given.

    Raises:
        ValueError: naming the first bad argument and its value.
    """
    values = {name: values[name] for name in DEFAULTS}
    for names, check in (
        (_BOOLS, check_bool),
        (_POSITIVE_INTS, check_positive_int),
        (_NON_NEGATIVE_FLOATS, check_non_negative_float),
        (_POSITIVE_FLOATS, check_positive_float),
    ):
        for name in names:
            values[name] = check(values[name], name)
    for name in ("beta1", "beta2", "ema_decay"):
        values[name] = check_float(
            values[name], name, minimum=0, maximum=1, exclusive_maximum=True,
            allow_none=name == "ema_decay",
        )
    check_one_of(values["initial_state"], "initial_state", INITIAL_STATES)
    check_one_of(values["feature_noise"], "feature_noise", FEATURE_NOISE)
    values["step_noise_dim"] = check_int(
        values["step_noise_dim"], "step_noise_dim", minimum=0
    )
    values["interpolate"] = check_interpolate(values["interpolate"])
    if values["full_length"] is not None:
        values["full_length"] = check_bool(values["full_length"], "full_length")
    # `block_heads` and `step_noise_outputs` are checked by the generator
    # layer (it knows the outputs).
    values["dp_noise_multiplier"] = check_non_negative_float(
        values["dp_noise_multiplier"], "dp_noise_multiplier", allow_none=True
    )
    privacy = values["privacy"]
    if privacy is not None and not isinstance(privacy, dict):
        raise ValueError(
            f"`privacy` must be a dict or None. Received: privacy={privacy!r}"
        )
    values["privacy"] = None if privacy is None else dict(privacy)
    return values
