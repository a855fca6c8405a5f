"""Presets with weights: keras-hub's folder format, loading and saving.

A preset folder holds (keras-hub's on-disk convention):

- `config.json`: the model, `keras.saving.serialize_keras_object(model)`
  without its compile and build state, and without the table transformer
  (it has a file of its own).
- `model.weights.h5`: every weight of the model (`model.save_weights`):
  generators, critics (so that training can continue), the weight average
  and the saved settings (`full_length_state`, `position_mask`,
  `step_noise_mask`).
- `metadata.json`: `preset_format`, `keras_version`, `keras_dg_version`,
  `backend`, `parameter_count`, `date_saved`, and what the saver adds: a
  `description`, the `training_data`, the `fidelity` report's headline
  numbers beside their `floor`, the `recipe` that reproduces it.
- `transformer.json` (when the model has one): the
  `keras_dg.data.TableTransformer` (column names, dtypes, scaling,
  category labels), `keras.saving.serialize_keras_object` JSON, never a
  pickle: `generate_dataframe` then works without the training data.

A handle is a built-in name (`keras_dg.presets.PRESETS` entries with
`weights`), a local folder, `kaggle://org/model/keras/variant[/version]`
(downloaded with `kagglehub`) or `hf://org/model` (`huggingface_hub`).

Loading is safe: the JSON files are parsed, not unpickled; the class must be
a keras-dg registered class and every nested object a Keras or keras-dg one;
deserialization runs in `safe_mode`; a preset saved by a newer keras-dg or
in a newer format, a missing or damaged file each get their own error.

Example:

>>> import keras_dg
>>> model = keras_dg.DoppelGANger.from_preset("flights")  # doctest: +SKIP
>>> model.generate_dataframe(100, seed=0).head()  # doctest: +SKIP
"""

import datetime
import importlib
import importlib.resources
import json
import math
import os
import re

import keras

from keras_dg import files

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
TRANSFORMER_FILE = "transformer.json"
REQUIRED_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE)

# Version of the folder layout; a loader refuses a larger one.
PRESET_FORMAT = 1

# The metadata keys `save_to_preset` writes itself.
RESERVED_METADATA = (
    "preset_format", "class_name", "keras_version", "keras_dg_version",
    "backend", "parameter_count", "optimizer_state", "date_saved",
)

# Modules whose classes a preset's config may name.
_ALLOWED_MODULES = re.compile(r"^(keras_dg|keras)(\.|$)")

_PACKAGES = {"kaggle": "kagglehub", "hf": "huggingface_hub"}

# The folder of the shipped presets' files, inside this package.
_ASSETS = "weights"


# --- Handles ----------------------------------------------------------------


def builtin_folder(name):
    """The folder of a built-in preset's files, or None if it ships none.

    `name` is a key of `keras_dg.presets.PRESETS`.
    """
    from keras_dg.presets import PRESETS

    folder = PRESETS[name].get("weights")
    if folder is None:
        return None
    # The package's data files (pyproject.toml's package-data), wherever
    # the package is installed.
    return os.fspath(
        importlib.resources.files("keras_dg.presets") / _ASSETS / folder
    )


def presets_with_weights():
    """{name: metadata} of the built-in presets that ship weights."""
    from keras_dg.presets import PRESETS

    return {
        name: dict(preset["metadata"], path=builtin_folder(name))
        for name, preset in PRESETS.items()
        if preset.get("weights")
    }


def _split_uri(uri, argument):
    """(scheme, rest) of a `kaggle://` or `hf://` URI, checked."""
    scheme, _, rest = uri.partition("://")
    parts = rest.strip("/").split("/")
    if scheme == "kaggle":
        if len(parts) not in (4, 5) or not all(parts):
            raise ValueError(
                f"`{argument}` {uri!r} is not a Kaggle model handle; "
                "expected kaggle://OWNER/MODEL/keras/VARIANT[/VERSION]."
            )
        if len(parts) == 5 and not parts[4].isdigit():
            raise ValueError(
                f"`{argument}` {uri!r}: the version {parts[4]!r} must be a "
                "number."
            )
    elif scheme == "hf":
        if len(parts) != 2 or not all(parts):
            raise ValueError(
                f"`{argument}` {uri!r} is not a Hugging Face handle; "
                "expected hf://OWNER/MODEL."
            )
    else:
        raise ValueError(
            f"`{argument}` {uri!r} has the unknown scheme {scheme!r}; "
            "expected kaggle:// or hf://."
        )
    return scheme, "/".join(parts)


def _client(scheme):
    """The installed hub client of `scheme`, or an ImportError naming it."""
    package = _PACKAGES[scheme]
    try:
        return importlib.import_module(package)
    except ImportError as e:
        raise ImportError(
            f"{scheme}:// handles need the `{package}` package: "
            f"pip install {package}"
        ) from e


def resolve_handle(handle):
    """A local folder for `handle` (downloading a hub preset).

    Args:
        handle: str or path-like. A built-in preset name or alias (see
            `keras_dg.presets.preset_names()`), a local folder,
            `kaggle://OWNER/MODEL/keras/VARIANT[/VERSION]` or
            `hf://OWNER/MODEL`.

    Returns:
        str, the folder holding the preset's files.
    """
    if not isinstance(handle, (str, os.PathLike)):
        raise ValueError(
            "`preset` must be a preset name, a folder or a kaggle:// or "
            f"hf:// handle. Received: {handle!r}"
        )
    handle = os.fspath(handle)
    if "://" in handle:
        scheme, path = _split_uri(handle, "preset")
        client = _client(scheme)
        if scheme == "kaggle":
            return client.model_download(path)
        return client.snapshot_download(repo_id=path)
    if os.path.isdir(handle):
        return handle
    from keras_dg.presets import PRESETS
    from keras_dg.presets import resolve_name

    looks_like_path = os.sep in handle or handle.startswith(".")
    try:
        name = resolve_name(handle)
    except ValueError:
        if looks_like_path or os.path.exists(handle):
            raise FileNotFoundError(
                f"Preset folder {handle!r} does not exist (or is not a "
                "folder)."
            ) from None
        raise ValueError(
            f"Unknown preset {handle!r}: not a built-in preset "
            f"({', '.join(PRESETS)}), a folder, nor a kaggle:// or hf:// "
            "handle."
        ) from None
    folder = builtin_folder(name)
    if folder is None:
        with_weights = ", ".join(presets_with_weights()) or "none"
        raise ValueError(
            f"Preset {name!r} is a training configuration without weights "
            f"(`keras-dg train --preset {name}`, "
            f"`keras_dg.pipeline.run(..., preset={name!r})`). Presets with "
            f"weights: {with_weights}."
        )
    return folder


# --- Reading ----------------------------------------------------------------


def _read_json(folder, filename):
    path = os.path.join(folder, filename)
    if not os.path.isfile(path):
        present = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        raise FileNotFoundError(
            f"Preset folder {folder!r} has no {filename} (a preset holds "
            f"{', '.join(REQUIRED_FILES)} and optionally {TRANSFORMER_FILE}"
            f"; found {present})."
        )
    return files.read_json_object(path, f"{filename} of preset {folder!r}")


def _check_version(metadata, folder):
    from packaging.version import InvalidVersion
    from packaging.version import Version

    from keras_dg.version import __version__

    fmt = metadata.get("preset_format")
    if not isinstance(fmt, int):
        raise ValueError(
            f"{METADATA_FILE} of preset {folder!r} is damaged: "
            f"`preset_format` must be an integer, found {fmt!r}."
        )
    saved = metadata.get("keras_dg_version")
    try:
        newer = Version(str(saved)) > Version(__version__)
    except InvalidVersion:
        raise ValueError(
            f"{METADATA_FILE} of preset {folder!r} is damaged: "
            f"`keras_dg_version` {saved!r} is not a version."
        ) from None
    if fmt > PRESET_FORMAT or newer:
        raise ValueError(
            f"Preset {folder!r} was saved by keras-dg {saved} (preset format"
            f" {fmt}); this is keras-dg {__version__} (format "
            f"{PRESET_FORMAT}). Upgrade: pip install -U keras-dg."
        )


def read_metadata(folder):
    """A preset folder's `metadata.json`, checked (format, version)."""
    metadata = _read_json(folder, METADATA_FILE)
    _check_version(metadata, folder)
    return metadata


def _check_objects(value, where, folder):
    """Every serialized object inside `value` comes from Keras or keras-dg."""
    if isinstance(value, dict):
        if "class_name" in value and "module" in value:
            module = value.get("module") or ""
            if not _ALLOWED_MODULES.match(str(module)):
                raise ValueError(
                    f"{where} of preset {folder!r} names the class "
                    f"{value['class_name']!r} of module {module!r}; a "
                    "preset may only hold Keras and keras-dg objects."
                )
        for item in value.values():
            _check_objects(item, where, folder)
    elif isinstance(value, list):
        for item in value:
            _check_objects(item, where, folder)


def _check_class(config, expected, where, folder):
    """The registered class `config` names: a subclass of `expected`."""
    name = config.get("registered_name") or config.get("class_name")
    if not isinstance(name, str) or not isinstance(
        config.get("config"), dict
    ):
        raise ValueError(
            f"{where} of preset {folder!r} is damaged: expected a "
            "serialized Keras object (`class_name`, `registered_name`, "
            "`config`)."
        )
    cls = None
    if name.startswith("keras_dg>"):
        cls = keras.saving.get_registered_object(name)
    if not (isinstance(cls, type) and issubclass(cls, expected)):
        raise ValueError(
            f"{where} of preset {folder!r} holds {name!r}, not a keras-dg "
            f"{expected.__name__}; refusing to load it."
        )
    _check_objects(config, where, folder)
    return cls


def read_preset(folder, cls=None):
    """Reads and checks a preset folder's JSON files, builds nothing.

    Args:
        folder: str. A preset folder.
        cls: the model class expected (`keras_dg.DoppelGANger` or a
            subclass). Defaults to `keras_dg.DoppelGANger`.

    Returns:
        dict with `config` (`config.json`), `metadata`, `transformer` (the
        `TableTransformer` or None) and `weights` (the weights file's path).
    """
    from keras_dg.models.doppelganger import DoppelGANger

    cls = cls or DoppelGANger
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Preset folder {folder!r} does not exist.")
    metadata = read_metadata(folder)
    config = _read_json(folder, CONFIG_FILE)
    _check_class(config, cls, CONFIG_FILE, folder)
    if "transformer" in config["config"]:
        raise ValueError(
            f"{CONFIG_FILE} of preset {folder!r} holds a transformer; it "
            f"belongs in {TRANSFORMER_FILE}."
        )
    transformer = None
    if os.path.exists(os.path.join(folder, TRANSFORMER_FILE)):
        transformer = _read_transformer(folder)
    weights = os.path.join(folder, WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"Preset folder {folder!r} has no {WEIGHTS_FILE} (found "
            f"{sorted(os.listdir(folder))})."
        )
    return {"config": config, "metadata": metadata,
            "transformer": transformer, "weights": weights}


def _read_transformer(folder):
    from keras_dg.data.table_transformer import TableTransformer

    serialized = _read_json(folder, TRANSFORMER_FILE)
    _check_class(serialized, TableTransformer, TRANSFORMER_FILE, folder)
    try:
        return TableTransformer.from_json_config(serialized["config"])
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(
            f"{TRANSFORMER_FILE} of preset {folder!r} is damaged: {e}"
        ) from None


def load_preset(preset, load_weights=True, cls=None, compile=False,
                **kwargs):
    """A model from a preset (`DoppelGANger.from_preset`).

    Args:
        preset: str or path-like. A handle (see `resolve_handle`).
        load_weights: bool. Load the trained weights; False gives the
            preset's architecture freshly initialized. Defaults to True.
        cls: the class to build (a `keras_dg.DoppelGANger` subclass; the
            preset's class must be it or a subclass). Defaults to
            `keras_dg.DoppelGANger`.
        compile: bool. Compile the model (`model.compile()`: Adam with the
            preset's learning rates, or the overrides'), ready to fine-tune;
            the optimizers' state is restored when the preset holds it
            (`save_to_preset(..., include_optimizer=True)`), else fresh.
            False leaves compiling to you (fresh optimizers of your
            choice). Defaults to False.
        **kwargs: constructor arguments that replace the preset's (e.g.
            `seed`, `g_lr`, `d_rounds`); with `load_weights=True` they must
            keep the weights' shapes.

    Returns:
        The model, built; `model.preset_metadata` holds the preset's
        `metadata.json`.
    """
    from keras_dg.models.config import DEFAULTS

    for name, value in (("load_weights", load_weights),
                        ("compile", compile)):
        if not isinstance(value, bool):
            raise ValueError(
                f"`{name}` must be True or False. Received: {value!r}"
            )
    folder = resolve_handle(preset)
    contents = read_preset(folder, cls)
    config = contents["config"]
    allowed = set(DEFAULTS) | {"name", "dtype", "trainable"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(
            f"Unknown DoppelGANger arguments {unknown} for from_preset; "
            "expected hyperparameters such as seed, g_lr, ema_decay (the "
            "feature/attribute specs and lengths come from the preset)."
        )
    if contents["transformer"] is not None:
        kwargs.setdefault("transformer", contents["transformer"])
    if hasattr(kwargs.get("transformer"), "get_config"):
        # A saved config holds the transformer's config, not the object.
        kwargs["transformer"] = kwargs["transformer"].get_config()
    serialized = dict(config, config={**config["config"], **kwargs})
    try:
        model = keras.saving.deserialize_keras_object(
            serialized, safe_mode=True
        )
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"{CONFIG_FILE} of preset {folder!r} does not build a model: {e}"
        ) from None
    restore_optimizer = bool(
        load_weights and contents["metadata"].get("optimizer_state")
    )
    if compile and restore_optimizer:
        model.compile()
    if load_weights:
        _load_weights(model, contents["weights"], folder, kwargs)
    if compile and not restore_optimizer:
        model.compile()
    model.preset_metadata = contents["metadata"]
    return model


def _load_weights(model, path, folder, overrides):
    try:
        model.load_weights(path)
    except OSError as e:
        raise ValueError(
            f"{WEIGHTS_FILE} of preset {folder!r} is damaged: not a "
            f"readable HDF5 weights file ({e})."
        ) from None
    except ValueError as e:
        hint = (
            f" (the overrides {sorted(overrides)} may change the "
            "architecture)" if set(overrides) - {"transformer"} else ""
        )
        raise ValueError(
            f"{WEIGHTS_FILE} of preset {folder!r} does not fit its "
            f"{CONFIG_FILE}{hint}: {e}"
        ) from None


# --- Writing ----------------------------------------------------------------


def model_config_json(model):
    """`config.json`'s object: the serialized model, no compile/build state,
    no transformer."""
    serialized = keras.saving.serialize_keras_object(model)
    for key in ("compile_config", "build_config"):
        serialized.pop(key, None)
    serialized["config"] = dict(serialized["config"])
    serialized["config"].pop("transformer", None)
    return serialized


def save_to_preset(model, preset_dir, metadata=None, overwrite=False,
                   include_optimizer=False):
    """Writes `model` as a preset folder (`DoppelGANger.save_to_preset`).

    Args:
        model: a `keras_dg.DoppelGANger`.
        preset_dir: str or path-like. The folder; created if missing.
        metadata: dict or None. Extra JSON entries of `metadata.json`:
            `description`, `training_data`, `fidelity` (`{"metrics": ...,
            "floor": ...}`), `recipe`, ... The keys keras-dg writes itself
            (`RESERVED_METADATA`) are refused. Defaults to None.
        overwrite: bool. Replace a preset already in `preset_dir`.
            Defaults to False.
        include_optimizer: bool. Keep the three optimizers' state (Adam
            moments, step counts) in the weights file, for fine-tuning that
            continues them (`from_preset(..., compile=True)`); it triples
            the file. Defaults to False (the model's weights only).

    Returns:
        str, the folder.
    """
    from keras_dg.models.doppelganger import DoppelGANger
    from keras_dg.version import __version__

    if not isinstance(model, DoppelGANger):
        raise ValueError(
            "`model` must be a keras_dg.DoppelGANger. Received: "
            f"{type(model).__name__}"
        )
    metadata = dict(metadata or {})
    clashes = sorted(set(metadata) & set(RESERVED_METADATA))
    if clashes:
        raise ValueError(
            f"`metadata` must not set {clashes}: save_to_preset writes "
            "them itself."
        )
    try:
        json.dumps(metadata)
    except TypeError as e:
        raise ValueError(f"`metadata` must be plain JSON: {e}") from None
    preset_dir = os.fspath(preset_dir)
    if os.path.exists(preset_dir) and not os.path.isdir(preset_dir):
        raise ValueError(f"`preset_dir` {preset_dir!r} is a file.")
    if os.path.exists(os.path.join(preset_dir, CONFIG_FILE)) and not overwrite:
        raise ValueError(
            f"`preset_dir` {preset_dir!r} already holds a preset; pass "
            "overwrite=True to replace it."
        )
    config = model_config_json(model)
    transformer = None
    if model.transformer is not None:
        transformer = keras.saving.serialize_keras_object(model.transformer)
        transformer["config"] = model.transformer.to_json_config()
    if not isinstance(include_optimizer, bool):
        raise ValueError(
            "`include_optimizer` must be True or False. Received: "
            f"{include_optimizer!r}"
        )
    optimizer_state = include_optimizer and _has_optimizer_state(model)
    if include_optimizer and not optimizer_state:
        raise ValueError(
            "`include_optimizer=True` needs a compiled model (its "
            "optimizers' state is what it saves)."
        )
    source = model
    if not optimizer_state and getattr(model, "optimizer", None) is not None:
        # `save_weights` writes a compiled model's optimizer state too: save
        # the weights from an uncompiled copy.
        source = type(model).from_config(model.get_config())
        source.set_weights(model.get_weights())
    os.makedirs(preset_dir, exist_ok=True)
    with files.atomic_write(os.path.join(preset_dir, WEIGHTS_FILE)) as tmp:
        source.save_weights(tmp)
    files.atomic_write_text(
        os.path.join(preset_dir, CONFIG_FILE), _dumps(config)
    )
    transformer_path = os.path.join(preset_dir, TRANSFORMER_FILE)
    if transformer is not None:
        files.atomic_write_text(transformer_path, _dumps(transformer))
    elif os.path.exists(transformer_path):
        os.remove(transformer_path)
    written = {
        "preset_format": PRESET_FORMAT,
        "class_name": config.get("registered_name") or config["class_name"],
        "keras_version": keras.__version__,
        "keras_dg_version": __version__,
        "backend": keras.config.backend(),
        "parameter_count": int(model.count_params()),
        "optimizer_state": bool(optimizer_state),
        "date_saved": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d@%H:%M:%S"
        ),
    }
    files.atomic_write_text(
        os.path.join(preset_dir, METADATA_FILE),
        _dumps({**written, **metadata}),
    )
    return preset_dir


def preset_from_run(run_dir, preset_dir, metadata=None, overwrite=False):
    """Saves a `keras_dg.pipeline.run` folder's model as a preset.

    `metadata.json` gets, besides `metadata`, the run's `training_data`
    (its `data` entry of `run.json`: series, length), `training` (preset,
    options, epochs, seconds) and `fidelity`: the report's headline
    numbers (`metrics`) beside their `floor` (real training data against
    the held-out reference), from `report/metrics.json`.

    Args:
        run_dir: str. A finished run's folder (`model.keras`, `run.json`).
        preset_dir: str. The preset folder to write.
        metadata: dict or None. More entries (`description`, `recipe`).
        overwrite: bool. Replace a preset in `preset_dir`.

    Returns:
        str, the preset folder.
    """
    from keras_dg.data.readers import load_model

    run_dir = os.fspath(run_dir)
    run = _read_json(run_dir, "run.json")
    if run.get("status") != "done":
        raise ValueError(
            f"Run {run_dir!r} is not finished (status "
            f"{run.get('status')!r}); finish or resume it first."
        )
    report = os.path.join(run_dir, "report")
    fidelity = None
    if os.path.isfile(os.path.join(report, "metrics.json")):
        metrics = _read_json(report, "metrics.json")
        fidelity = {
            "metrics": _finite(metrics.get("summary")),
            "floor": _finite(metrics.get("floor")),
            "reference": "held-out real series (floor: the real training "
                         "series against them)",
        }
    model = load_model(os.path.join(run_dir, "model.keras"), "run_dir")
    training = dict(run.get("training") or {})
    training.update(preset=run.get("preset"),
                    seconds=(run.get("seconds") or {}).get("train"))
    written = {"training_data": run.get("data"), "training": training,
               "fidelity": fidelity}
    return save_to_preset(model, preset_dir,
                          metadata={**written, **(metadata or {})},
                          overwrite=overwrite)


def _finite(values):
    """`values` with NaN and infinities as None (strict JSON)."""
    if not isinstance(values, dict):
        return values
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in values.items()
    }


def _has_optimizer_state(model):
    optimizer = getattr(model, "optimizer", None)
    return bool(
        optimizer is not None and optimizer.built and optimizer.variables
    )


def _dumps(value):
    return json.dumps(value, indent=2, sort_keys=False) + "\n"


# --- Publishing -------------------------------------------------------------


def upload_preset(uri, preset_dir):
    """Publishes a preset folder on Kaggle Models or the Hugging Face Hub.

    The folder is checked first (its JSON files parse, its class is
    keras-dg's, its weights file exists and loads into the model its config
    builds); then `kagglehub.model_upload` or
    `huggingface_hub.upload_folder` sends it (their login applies).

    Args:
        uri: str. `kaggle://OWNER/MODEL/keras/VARIANT` or
            `hf://OWNER/MODEL`.
        preset_dir: str or path-like. A folder written by `save_to_preset`.
    """
    if not isinstance(uri, str) or "://" not in uri:
        raise ValueError(
            f"`uri` must be a kaggle:// or hf:// handle. Received: {uri!r}"
        )
    scheme, path = _split_uri(uri, "uri")
    if scheme == "kaggle" and len(path.split("/")) == 5:
        raise ValueError(
            f"`uri` {uri!r}: Kaggle numbers the versions of an upload "
            "itself; drop the version."
        )
    preset_dir = os.fspath(preset_dir)
    if not os.path.isdir(preset_dir):
        raise FileNotFoundError(
            f"`preset_dir` {preset_dir!r} does not exist or is not a folder."
        )
    load_preset(preset_dir)
    client = _client(scheme)
    if scheme == "kaggle":
        client.model_upload(path, preset_dir)
    else:
        client.create_repo(repo_id=path, exist_ok=True)
        client.upload_folder(repo_id=path, folder_path=preset_dir)
