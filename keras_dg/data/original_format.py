"""The original DoppelGANger dataset format: load and save, safely.

A dataset folder holds, per split (`train`, `test`, ...), `data_{split}.npz`
with `data_feature` [N, T, F], `data_attribute` [N, A] and `data_gen_flag`
[N, T] (any further arrays, such as FCC_MBA's `data_feature_min` and
`data_feature_max`, are extras), plus `data_feature_output.pkl` and
`data_attribute_output.pkl`: pickled lists of `Output` objects of the
original module `output`, shared by all splits of the folder.

`load_dg` reads them with `np.load(allow_pickle=False)` and the
allow-list unpickler of `keras_dg.data.restricted_unpickler`, so no code
from the files runs. `save_dg` writes the same format (the pickles name
module `output`, protocol 2, exactly as the paper's datasets ship them, so
the original code loads them) plus `data_schema.json`, a human-readable
description of the specs and arrays. Writes are atomic: files are written
to temporary files in the destination folder (`keras_dg.files.atomic_write`)
or a temporary folder next to a new one, and moved into place only once all
are written.

Reference:
    `shared/ALGORITHM.md` §1; `shared/data/README.md`.
"""

import contextlib
import json
import os
import re

import numpy as np

from keras_dg.data.restricted_unpickler import load_outputs
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.files import atomic_folder
from keras_dg.files import atomic_write
from keras_dg.specs import outputs_to_config

FEATURE_KEY = "data_feature"
ATTRIBUTE_KEY = "data_attribute"
GEN_FLAG_KEY = "data_gen_flag"
FEATURE_OUTPUTS_FILE = "data_feature_output.pkl"
ATTRIBUTE_OUTPUTS_FILE = "data_attribute_output.pkl"
SCHEMA_FILE = "data_schema.json"

_REQUIRED = (FEATURE_KEY, ATTRIBUTE_KEY, GEN_FLAG_KEY)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SPLIT_FILE = re.compile(r"^data_([A-Za-z0-9_-]+)\.npz$")


def _check_split(split):
    if not isinstance(split, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", split):
        raise ValueError(
            "`split` must be a non-empty string of letters, digits, '_' or "
            f"'-' (e.g. 'train', 'test'). Received: split={split!r}"
        )


def _splits_in(folder):
    if not os.path.isdir(folder):
        return []
    return sorted(
        match.group(1)
        for match in map(_SPLIT_FILE.match, os.listdir(folder))
        if match
    )


# --- Writing the original pickles --------------------------------------------


def _short_string(text):
    data = text.encode("ascii")
    return b"U" + bytes([len(data)]) + data  # SHORT_BINSTRING


def _small_int(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])  # BININT1
    return b"J" + int(value).to_bytes(4, "little", signed=True)  # BININT


def _enum_member(class_name, value):
    # GLOBAL output.<class>, the value, TUPLE1, REDUCE: `Class(value)`.
    return (
        b"coutput\n" + class_name.encode() + b"\n"
        + _short_string(value) + b"\x85R"
    )


def dumps_outputs(outputs):
    """Pickles `Output` specs as the original code's `output.Output` list.

    The standard pickler can only name classes importable under their own
    module, so the few opcodes of the original files (protocol 2, as in the
    paper's GCUT pickles) are written directly: for each spec,
    `output.Output` rebuilt with `NEWOBJ` and a `BUILD` of its `__dict__`
    (`dim`, `type_`, `is_gen_flag`, `normalization`), enum members as
    `output.OutputType(value)` / `output.Normalization(value)`. The original
    code (with `sys.modules["output"]` set, as its scripts do) and
    `load_outputs` both read the result.

    Args:
        outputs: list of `keras_dg.specs.Output`.

    Returns:
        bytes.
    """
    data = bytearray(b"\x80\x02]")  # PROTO 2, EMPTY_LIST
    if outputs:
        data += b"("  # MARK
    for output in outputs:
        data += b"coutput\nOutput\n)\x81"  # GLOBAL, EMPTY_TUPLE, NEWOBJ
        data += b"}("  # EMPTY_DICT, MARK
        data += _short_string("dim") + _small_int(output.dim)
        data += _short_string("type_")
        data += _enum_member("OutputType", output.type_.value)
        data += _short_string("is_gen_flag")
        data += b"\x88" if output.is_gen_flag else b"\x89"
        data += _short_string("normalization")
        if output.normalization is None:
            data += b"N"
        else:
            data += _enum_member("Normalization", output.normalization.value)
        data += b"ub"  # SETITEMS, BUILD
    if outputs:
        data += b"e"  # APPENDS
    data += b"."
    return bytes(data)


# --- Atomic writes ------------------------------------------------------------


def _write_file(path, writer):
    with open(path, "wb") as f:
        writer(f)
        f.flush()
        os.fsync(f.fileno())


def _atomic_write(folder, writers):
    """Writes `{name: writer(file)}` into `folder` with all-or-nothing moves.

    A new folder is assembled as a hidden temporary sibling
    (`keras_dg.files.atomic_folder`: removed on errors, and after a kill by
    the next writer of the parent folder) and renamed into place; in an existing folder each file goes to its `keras_dg.files`
    temp file first and all of them are moved over their targets only after
    every one was written. Other files in the folder are left alone.
    """
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        with atomic_folder(folder) as staging:
            for name, writer in writers.items():
                _write_file(os.path.join(staging, name), writer)
        return
    # Every file is written to its temp file before any is renamed.
    with contextlib.ExitStack() as stack:
        for name, writer in writers.items():
            tmp = stack.enter_context(atomic_write(os.path.join(folder, name)))
            _write_file(tmp, writer)


# --- Public API ---------------------------------------------------------------


def load_dg(folder, split="train", validate=True):
    """Loads a dataset in the original DoppelGANger format, safely.

    Reads `data_{split}.npz` (without enabling pickles inside it) and the
    two Output pickles through an allow-list unpickler: only the original
    `output`/`gan.output` classes `Output`, `OutputType` and `Normalization`
    are accepted (protocols 0 to 5, latin1 strings), any other global raises
    an error naming it and nothing from the file runs.

    Args:
        folder: str or path-like. The dataset folder.
        split: str. Which `data_{split}.npz` to read. Defaults to `"train"`.
        validate: bool. Whether to check the arrays against the specs (see
            `TimeSeriesDataset`). Defaults to `True`.

    Returns:
        A `TimeSeriesDataset` (float32 arrays; the gen flag is converted from
        any numeric dtype) whose `extras` hold every other array of the npz,
        unchanged (e.g. `data_feature_min`/`data_feature_max`).

    Raises:
        FileNotFoundError: the folder, the split or a pickle is missing.
        ValueError: a file is malformed, unsafe or disagrees with the specs
            (`UnsafePickleError` is a `ValueError`).

    Example:

    >>> ds = load_dg("../shared/data/FCC_MBA")  # doctest: +SKIP
    >>> ds.features.shape, sorted(ds.extras)  # doctest: +SKIP
    ((600, 56, 2), ['data_feature_max', 'data_feature_min'])
    """
    _check_split(split)
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"`folder` '{folder}' is not a directory. Expected a folder "
            "with data_{split}.npz and the two Output pickles."
        )
    npz_path = os.path.join(folder, f"data_{split}.npz")
    if not os.path.isfile(npz_path):
        raise FileNotFoundError(
            f"No 'data_{split}.npz' in '{folder}'. Splits present: "
            f"{_splits_in(folder) or 'none'}."
        )
    for name in (FEATURE_OUTPUTS_FILE, ATTRIBUTE_OUTPUTS_FILE):
        if not os.path.isfile(os.path.join(folder, name)):
            raise FileNotFoundError(f"No '{name}' in '{folder}'.")
    feature_outputs = load_outputs(os.path.join(folder, FEATURE_OUTPUTS_FILE))
    attribute_outputs = load_outputs(
        os.path.join(folder, ATTRIBUTE_OUTPUTS_FILE)
    )
    with open(npz_path, "rb") as f:
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(
                f"'{npz_path}' is not a readable npz file (not a zip archive)."
            )
    arrays = {}
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            for key in npz.files:
                arrays[key] = npz[key]
    except ValueError as e:
        raise ValueError(
            f"'{npz_path}' holds an array that needs pickle (object dtype), "
            f"which is refused for safety: {e}"
        ) from None
    except Exception as e:  # Not a zip / npz file.
        raise ValueError(
            f"'{npz_path}' is not a readable npz file: {type(e).__name__}: {e}"
        ) from None
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise ValueError(
            f"'{npz_path}' lacks the arrays {missing}; it has "
            f"{sorted(arrays)}. Expected {list(_REQUIRED)}."
        )
    for key in _REQUIRED:
        if not np.issubdtype(arrays[key].dtype, np.number) and not (
            arrays[key].dtype == bool
        ):
            raise ValueError(
                f"'{npz_path}': `{key}` must be numeric; it has dtype "
                f"{arrays[key].dtype}."
            )
    extras = {k: v for k, v in arrays.items() if k not in _REQUIRED}
    try:
        return TimeSeriesDataset(
            features=arrays[FEATURE_KEY],
            attributes=arrays[ATTRIBUTE_KEY],
            gen_flag=arrays[GEN_FLAG_KEY],
            feature_outputs=feature_outputs,
            attribute_outputs=attribute_outputs,
            extras=extras,
            validate=validate,
        )
    except ValueError as e:
        raise ValueError(f"'{folder}' (split '{split}'): {e}") from None


def _check_extras(extras):
    checked = {}
    for key, value in extras.items():
        if not isinstance(key, str) or not _NAME.match(key) or key in _REQUIRED:
            raise ValueError(
                f"`dataset.extras` key {key!r} cannot be saved: use letters, "
                f"digits, '_', '.' or '-', and none of {list(_REQUIRED)}."
            )
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(
                f"`dataset.extras[{key!r}]` has dtype object, which the "
                "format cannot hold without pickle. Use a numeric or string "
                "array."
            )
        checked[key] = array
    return checked


def _schema(folder, split, dataset, extras, other_splits):
    path = os.path.join(folder, SCHEMA_FILE)
    splits = {}
    if other_splits and os.path.isfile(path):
        try:
            with open(path) as f:
                splits = dict(json.load(f).get("splits", {}))
        except (OSError, ValueError, AttributeError):
            splits = {}
        splits = {k: v for k, v in splits.items() if k in other_splits}
    lengths = dataset.lengths
    arrays = {
        FEATURE_KEY: dataset.features,
        ATTRIBUTE_KEY: dataset.attributes,
        GEN_FLAG_KEY: dataset.gen_flag,
        **extras,
    }
    splits[split] = {
        "file": f"data_{split}.npz",
        "num_series": len(dataset),
        "max_sequence_len": dataset.max_sequence_len,
        "length_min": int(lengths.min()),
        "length_max": int(lengths.max()),
        "length_mean": float(lengths.mean()),
        "arrays": {
            key: {"shape": list(array.shape), "dtype": str(array.dtype)}
            for key, array in arrays.items()
        },
    }
    schema = {
        "format": "DoppelGANger (Lin et al., IMC 2020) dataset folder",
        "written_by": "keras_dg.data.save_dg",
        "feature_outputs_file": FEATURE_OUTPUTS_FILE,
        "attribute_outputs_file": ATTRIBUTE_OUTPUTS_FILE,
        "feature_outputs": outputs_to_config(dataset.feature_outputs),
        "attribute_outputs": outputs_to_config(dataset.attribute_outputs),
        "feature_dim": int(dataset.features.shape[-1]),
        "attribute_dim": int(dataset.attributes.shape[-1]),
        "notes": (
            "data_feature [N, T, F] and data_attribute [N, A]: discrete "
            "outputs one-hot, continuous outputs scaled to their "
            "normalization's range; data_gen_flag [N, T] is 1 while a series "
            "is active, then 0; features are zero after each series' end."
        ),
        "splits": dict(sorted(splits.items())),
    }
    return json.dumps(schema, indent=2).encode() + b"\n"


def save_dg(dataset, folder, split="train"):
    """Saves a dataset in the original DoppelGANger format, atomically.

    Writes `data_{split}.npz` (`data_feature`, `data_attribute`,
    `data_gen_flag` as float32, plus `dataset.extras`), the two Output
    pickles (module `output`, protocol 2, loadable by the original code and
    by `load_dg`) and `data_schema.json`. Nothing is half-written: files are
    staged as hidden temporary files and moved into place at the end, and a
    new folder appears only once complete. Other files in an existing
    folder are kept. Since the pickles are shared by all splits of a
    folder, saving a split whose specs differ from those of another split
    already in the folder is refused.

    Args:
        dataset: `TimeSeriesDataset`. Validated before anything is written.
        folder: str or path-like. Created (with parents) if missing.
        split: str. The npz is named `data_{split}.npz`. Defaults to
            `"train"`.

    Returns:
        The folder's path, as a str.

    Example:

    >>> ds = load_dg("../shared/data/FCC_MBA")  # doctest: +SKIP
    >>> save_dg(ds, "/tmp/mba_copy")  # doctest: +SKIP
    '/tmp/mba_copy'
    """
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            "`dataset` must be a `TimeSeriesDataset`. Received: "
            f"{type(dataset).__name__}"
        )
    _check_split(split)
    folder = os.fspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"`folder` '{folder}' exists and is not a directory.")
    dataset.validate()
    extras = _check_extras(dataset.extras)
    other_splits = [s for s in _splits_in(folder) if s != split]
    if other_splits:
        for name, outputs in (
            (FEATURE_OUTPUTS_FILE, dataset.feature_outputs),
            (ATTRIBUTE_OUTPUTS_FILE, dataset.attribute_outputs),
        ):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and load_outputs(path) != outputs:
                raise ValueError(
                    f"'{folder}' already holds split(s) {other_splits} whose "
                    f"'{name}' differs from this dataset's specs "
                    f"{outputs}. The pickles are shared by every split of a "
                    "folder; save to another folder."
                )
    arrays = {
        FEATURE_KEY: dataset.features.astype("float32"),
        ATTRIBUTE_KEY: dataset.attributes.astype("float32"),
        GEN_FLAG_KEY: dataset.gen_flag.astype("float32"),
        **extras,
    }
    feature_bytes = dumps_outputs(dataset.feature_outputs)
    attribute_bytes = dumps_outputs(dataset.attribute_outputs)
    schema_bytes = _schema(folder, split, dataset, extras, other_splits)
    _atomic_write(
        folder,
        {
            f"data_{split}.npz": lambda f: np.savez(f, **arrays),
            FEATURE_OUTPUTS_FILE: lambda f: f.write(feature_bytes),
            ATTRIBUTE_OUTPUTS_FILE: lambda f: f.write(attribute_bytes),
            SCHEMA_FILE: lambda f: f.write(schema_bytes),
        },
    )
    return os.path.abspath(folder)
