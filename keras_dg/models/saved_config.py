"""Checks of a saved `DoppelGANger` config (`from_config`, a `.keras`
file's `config.json`) before anything is built from it.

A `.keras` file is data: a field that is not what `get_config` writes is
refused with a `ValueError` naming the field, never a traceback from deep
inside Keras, and never by running anything the config names.
"""

import keras

# The `keras.Layer` fields of every config.
_LAYER_FIELDS = ("name", "trainable", "dtype")
# Bounds on the sizes a saved config may ask for, far above any real model
# (the paper's largest layers have 200 units, its longest series 2,500
# steps): a tampered size would otherwise allocate memory without end
# before the weights could disagree.
_MAX_UNITS = 4096
_MAX_LAYERS = 64
_MAX_OUTPUT_DIM = 100_000
_MAX_LSTM_STEPS = 10_000
_SIZE_BOUNDS = {
    "gen_feature_num_units": _MAX_UNITS,
    "gen_attribute_num_units": _MAX_UNITS,
    "disc_num_units": _MAX_UNITS,
    "attr_disc_num_units": _MAX_UNITS,
    "attribute_latent_dim": _MAX_UNITS,
    "feature_latent_dim": _MAX_UNITS,
    "step_noise_dim": _MAX_UNITS,
    "gen_feature_num_layers": _MAX_LAYERS,
    "gen_attribute_num_layers": _MAX_LAYERS,
    "disc_num_layers": _MAX_LAYERS,
    "attr_disc_num_layers": _MAX_LAYERS,
    "num_packing": _MAX_LAYERS,
}


def _dtype_policy(value):
    """The policy of a saved `dtype`: None, a policy name or a policy's
    config (as `get_config` writes it)."""
    if value is None:
        return None
    if not isinstance(value, (str, dict)):
        raise ValueError(
            "The saved config's `dtype` must be a dtype policy name (e.g. "
            f"'float32') or a DTypePolicy config. Received: dtype={value!r}"
        )
    module = value.get("module", "keras") if isinstance(value, dict) else (
        "keras"
    )
    if not (isinstance(module, str) and (
        module == "keras" or module.startswith("keras.")
    )):
        raise ValueError(
            f"The saved config's `dtype.module` must be a Keras module (a "
            f"dtype policy is Keras'). Received: module={module!r}"
        )
    try:
        policy = keras.dtype_policies.get(value)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ValueError(
            f"The saved config's `dtype` {value!r} is not a Keras dtype "
            f"policy: {e}"
        ) from None
    # For an unknown `class_name`, Keras returns the name itself.
    if not isinstance(policy, keras.DTypePolicy):
        raise ValueError(
            f"The saved config's `dtype` {value!r} is not a Keras dtype "
            "policy (expected a policy name such as 'float32' or a "
            "DTypePolicy config)."
        )
    return policy


def check_saved_config(config, arguments):
    """Returns `config` checked for `from_config`.

    Args:
        config: the saved config (a dict).
        arguments: the names the class' constructor takes.

    Raises:
        ValueError: naming the field that is not a valid saved value.
    """
    if not isinstance(config, dict):
        raise ValueError(
            "A saved DoppelGANger config must be a dict of its arguments. "
            f"Received: {type(config).__name__}"
        )
    unknown = sorted(
        str(k) for k in config
        if k not in arguments and k not in _LAYER_FIELDS
    )
    if unknown:
        raise ValueError(
            f"The saved config has unknown field(s) {unknown}; DoppelGANger"
            f" takes: {', '.join(arguments)}."
        )
    config = dict(config)
    if "name" in config and not (
        config["name"] is None or isinstance(config["name"], str)
    ):
        raise ValueError(
            "The saved config's `name` must be a string. Received: "
            f"name={config['name']!r}"
        )
    if "trainable" in config and not isinstance(config["trainable"], bool):
        raise ValueError(
            "The saved config's `trainable` must be true or false. "
            f"Received: trainable={config['trainable']!r}"
        )
    if "dtype" in config:
        config["dtype"] = _dtype_policy(config["dtype"])
    seed = config.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
    ):
        raise ValueError(
            "The saved config's `seed` must be an integer >= 0 or None. "
            f"Received: seed={seed!r}"
        )
    _check_sizes(config)
    for field in ("feature_outputs", "attribute_outputs"):
        _check_outputs(config.get(field), field)
    if config.get("transformer") is not None:
        config["transformer"] = _transformer(config["transformer"])
    return config


def _transformer(value):
    """The saved `TableTransformer` (its serialized form or its config),
    deserialized, with errors named after the field."""
    if not isinstance(value, dict):
        raise ValueError(
            "The saved config's `transformer` must be a TableTransformer's "
            f"config or None. Received: {type(value).__name__}"
        )
    if "class_name" in value and (
        value.get("class_name") != "TableTransformer"
        or not str(value.get("module", "keras_dg")).startswith("keras_dg")
    ):
        raise ValueError(
            "The saved config's `transformer` must be a keras_dg "
            f"TableTransformer. Received: class_name="
            f"{value.get('class_name')!r}, module={value.get('module')!r}"
        )
    from keras_dg.data import TableTransformer

    try:
        if "class_name" in value:
            transformer = keras.saving.deserialize_keras_object(value)
        else:
            transformer = TableTransformer.from_config(value)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise ValueError(f"The saved config's `transformer`: {e}") from None
    if not isinstance(transformer, TableTransformer):
        raise ValueError(
            "The saved config's `transformer` is not a TableTransformer. "
            f"Received: {type(transformer).__name__}"
        )
    return transformer


def _too_large(value, bound):
    return (
        isinstance(value, int) and not isinstance(value, bool)
        and value > bound
    )


def _check_sizes(config):
    for field, bound in _SIZE_BOUNDS.items():
        if _too_large(config.get(field), bound):
            raise ValueError(
                f"The saved config's `{field}` is {config[field]}, more "
                f"than any keras-dg model uses ({bound}): a damaged or "
                "tampered file."
            )
    t, s = config.get("max_sequence_len"), config.get("sample_len")
    if _too_large(t, _MAX_LSTM_STEPS * max(s, 1) if (
        isinstance(s, int) and not isinstance(s, bool)
    ) else _MAX_LSTM_STEPS):
        raise ValueError(
            f"The saved config's `max_sequence_len` {t} (sample_len {s}) "
            f"asks for more than {_MAX_LSTM_STEPS} LSTM steps: a damaged "
            "or tampered file."
        )
    for field in ("feature_outputs", "attribute_outputs"):
        outputs = config.get(field)
        for i, output in enumerate(outputs if isinstance(outputs, list)
                                   else []):
            if isinstance(output, dict) and _too_large(
                output.get("dim"), _MAX_OUTPUT_DIM
            ):
                raise ValueError(
                    f"The saved config's `{field}[{i}].dim` is "
                    f"{output['dim']}, more than {_MAX_OUTPUT_DIM}: a "
                    "damaged or tampered file."
                )


def _check_outputs(outputs, field):
    """The output specs, refused with the field's name; and what
    `Output.from_config` would coerce (a non-boolean flag)."""
    from keras_dg.specs import outputs_from_config

    try:
        outputs_from_config(outputs, field)
    except ValueError as e:
        if f"`{field}`" in str(e):
            raise
        raise ValueError(f"The saved config's `{field}`: {e}") from None
    for i, output in enumerate(outputs):
        for flag in ("is_gen_flag", "is_missing_channel"):
            if isinstance(output, dict) and not isinstance(
                output.get(flag, False), bool
            ):
                raise ValueError(
                    f"The saved config's `{field}[{i}].{flag}` must be "
                    f"true or false. Received: {output[flag]!r}"
                )


def constructor_arguments(cls):
    """The named arguments of `cls.__init__`."""
    import inspect

    return [
        name for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind not in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL
        )
    ]
