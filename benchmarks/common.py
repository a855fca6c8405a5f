"""Helpers shared by both sides of the benchmarks (keras-dg and the peer).

Plain Python plus numpy, so that it imports both in the project's environment and inside
the peer's virtual environment (`benchmarks/.peer-venv`, numpy < 1.24). It never imports
the `keras_dg` package, `keras`, `tensorflow` or `torch`; the page-view stand-in comes from
`keras_dg/data/pageviews.py` (numpy only), loaded by its path.

What is here:
- the two benchmark shapes (`SHAPES`): the MBA shape (T=56, S=8, real FCC_MBA data) and the
  page-view shape (T=550, S=10, a deterministic stand-in for the Wikipedia web-traffic data);
- data: `pageview_standin`, `load_fcc_mba`, `load_shape_data`, `save_arrays`,
  `save_dataset` / `load_dataset` (any data with its schema, for `fidelity.py`),
  `attribute_codes`, `codes_to_one_hot`, `data_digest` (to check that both sides trained
  on identical arrays);
- measuring inside a process: `Meter` (wall, CPU seconds, CPU fraction), `peak_rss_mib`,
  `current_rss_mib`,
  `available_cores`, `emit_json`;
- measuring from the driver: `run_json` (runs a command, parses its one JSON line, and reads
  the child's own peak memory and CPU time with `os.wait4`), `thread_env`;
- summarising: `summarize` (median with min/max spread), `format_summary`,
  `machine_info`, `package_versions`, `markdown_table`, `markdown_row`.

All data arrays use the original DoppelGANger layout: `features` float32 [N, T, F] in the
encoded range ([0, 1] for ZERO_ONE, [-1, 1] for MINUSONE_ONE), `attributes` float32 [N, A]
one-hot per categorical attribute, `gen_flag` float32 [N, T] (all ones: every series of
both shapes has full length).

Example:
```python
import common
data = common.load_shape_data("pageview", n=500, seed=0)
data["features"].shape, data["attributes"].shape   # (500, 550, 1), (500, 14)
result = common.run_json([".peer-venv/bin/python", "peer_dgan.py", "--shape", "pageview",
                          "--n", "200", "--epochs", "1", "--task", "train"])
result["record"]["sequences_per_s"], result["child_peak_rss_mib"]
```
"""

import datetime
import importlib.metadata
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import hashlib
import importlib.util

import numpy as np

# The two benchmark shapes. `attribute_dims` lists the categories of each categorical
# attribute (one-hot blocks, in order); `feature_normalizations` the range of each feature.
SHAPES = {
    "mba": {
        "max_sequence_len": 56,
        "sample_len": 8,
        # FCC_MBA: ISP (15), technology (5), state (53); some categories have no rows.
        "attribute_names": ["isp", "technology", "state"],
        "attribute_dims": [15, 5, 53],
        # Total traffic bytes and UDP ping loss rate, both scaled to [0, 1].
        "feature_names": ["traffic_bytes", "ping_loss_rate"],
        "feature_normalizations": ["ZERO_ONE", "ZERO_ONE"],
    },
    "pageview": {
        "max_sequence_len": 550,
        "sample_len": 10,
        # The schema of the paper's WWT data: domain (9), access (3), agent (2).
        "attribute_names": ["domain", "access", "agent"],
        "attribute_dims": [9, 3, 2],
        # log(1 + views) scaled to [-1, 1].
        "feature_names": ["log_views"],
        "feature_normalizations": ["MINUSONE_ONE"],
    },
}

# The page-view stand-in and its encoding constant live in keras_dg (one source for the
# WWT recipe, the DP recipe and the benchmarks). That module imports only numpy, and is
# loaded by its path so that this file never imports the `keras_dg` package (and Keras).
_PAGEVIEWS_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_dg", "data", "pageviews.py"
)


def _load_pageviews():
    spec = importlib.util.spec_from_file_location("keras_dg_data_pageviews", _PAGEVIEWS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_pageviews = _load_pageviews()

_FCC_SPLITS = ("train", "test")


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer, received {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, received {value}.")


def _check_shape(shape):
    if shape not in SHAPES:
        raise ValueError(
            f"`shape` must be one of {sorted(SHAPES)}, received {shape!r}."
        )


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def pageview_standin(n, seed=0):
    """Builds stand-in data of the page-view (WWT) schema, deterministically.

    The paper's Wikipedia web-traffic arrays are not available here, so both sides train on
    this synthetic data of the same schema: T=550 daily steps, one feature
    `log(1 + views)` scaled to [-1, 1], and three categorical attributes domain (9),
    access (3) and agent (2) (`keras_dg/data/pageviews.py` draws it: a level that depends
    on the attributes, a weekly cycle, a slow random walk, noise and occasional spikes).

    The arrays are bit-identical across numpy versions (the project's numpy 2 and the
    peer's numpy 1.23): see that module.

    Args:
        n: int. Number of series, at least 2.
        seed: int. Seed of the random stream. Defaults to 0.

    Returns:
        A dict with `features` float32 [n, 550, 1], `attributes` float32 [n, 14] one-hot,
        `gen_flag` float32 [n, 550] (all ones), and the schema keys of
        `SHAPES["pageview"]`.

    Example:
    >>> data = pageview_standin(4, seed=0)
    >>> data["features"].shape, data["attributes"].shape
    ((4, 550, 1), (4, 14))
    """
    _check_positive_int("n", n, minimum=2)
    _check_positive_int("seed", seed, minimum=0)
    data = _pageviews.pageview_arrays(n, SHAPES["pageview"]["max_sequence_len"], seed=seed)
    return {
        "features": data["features"],
        "attributes": data["attributes"],
        "gen_flag": data["gen_flag"],
        **_schema("pageview"),
    }


def load_fcc_mba(path, split="train", n=None):
    """Loads the FCC_MBA arrays in the original DoppelGANger format.

    Reads `data_{split}.npz` with numpy only (the pickled `Output` lists are not needed:
    the schema is fixed, see `SHAPES["mba"]`). The one-hot attribute blocks are checked.
    With `n` larger than the split, rows are repeated in order (row i is row i mod N) so
    that epochs can be long enough to measure; with `n` smaller, the first `n` rows.

    Args:
        path: str. The FCC_MBA folder (e.g. `../shared/data/FCC_MBA`) or one of its npz
            files (then `split` is ignored).
        split: str. `"train"` or `"test"`. Defaults to `"train"`.
        n: int or None. Number of series to return; None returns the split as it is.
            Defaults to None.

    Returns:
        A dict with `features` float32 [n, 56, 2] in [0, 1], `attributes` float32 [n, 73],
        `gen_flag` float32 [n, 56], `feature_min` / `feature_max` float32 [2] (the bounds
        the features were scaled with), and the schema keys of `SHAPES["mba"]`.

    Example:
    >>> data = load_fcc_mba("../shared/data/FCC_MBA", split="test")
    >>> data["features"].shape
    (139, 56, 2)
    """
    if split not in _FCC_SPLITS:
        raise ValueError(f"`split` must be one of {_FCC_SPLITS}, received {split!r}.")
    path = os.fspath(path)
    file = path if path.endswith(".npz") else os.path.join(path, f"data_{split}.npz")
    if not os.path.isfile(file):
        raise ValueError(
            f"`path`: no FCC_MBA file at {file!r}; pass the FCC_MBA folder in the original "
            "DoppelGANger format (e.g. ../shared/data/FCC_MBA)."
        )
    spec = SHAPES["mba"]
    with np.load(file) as npz:
        missing = [k for k in ("data_feature", "data_attribute", "data_gen_flag") if k not in npz]
        if missing:
            raise ValueError(f"`path`: {file!r} lacks the arrays {missing}.")
        features = np.asarray(npz["data_feature"], dtype=np.float32)
        attributes = np.asarray(npz["data_attribute"], dtype=np.float32)
        gen_flag = np.asarray(npz["data_gen_flag"], dtype=np.float32)
        extras = {
            "feature_min": np.asarray(npz["data_feature_min"], dtype=np.float32)
            if "data_feature_min" in npz else None,
            "feature_max": np.asarray(npz["data_feature_max"], dtype=np.float32)
            if "data_feature_max" in npz else None,
        }
    expected = (spec["max_sequence_len"], len(spec["feature_names"]))
    if features.ndim != 3 or features.shape[1:] != expected:
        raise ValueError(
            f"`path`: {file!r} has data_feature of shape {features.shape}, expected "
            f"[N, {expected[0]}, {expected[1]}]."
        )
    _check_one_hot(attributes, spec["attribute_dims"], file)
    if n is not None:
        _check_positive_int("n", n, minimum=2)
        rows = np.arange(n) % features.shape[0]
        features, attributes, gen_flag = features[rows], attributes[rows], gen_flag[rows]
    return {
        "features": features,
        "attributes": attributes,
        "gen_flag": gen_flag,
        **extras,
        **_schema("mba"),
    }


def load_shape_data(shape, n=None, data=None, seed=0, split="train"):
    """Returns the training arrays of one benchmark shape; what both sides call.

    Args:
        shape: str. `"mba"` or `"pageview"`.
        n: int or None. Number of series. Required for `"pageview"` unless `data` is an
            npz file; for `"mba"` see `load_fcc_mba`. Defaults to None.
        data: str or None. For `"mba"`, the FCC_MBA folder (required). For `"pageview"`,
            optionally an npz written by `save_arrays` (so that both sides read the very
            same file); None builds `pageview_standin(n, seed)`. Defaults to None.
        seed: int. Seed of the page-view stand-in. Defaults to 0.
        split: str. The FCC_MBA split. Defaults to `"train"`.

    Returns:
        A dict as returned by `load_fcc_mba` / `pageview_standin`.
    """
    _check_shape(shape)
    if shape == "mba":
        if data is None:
            raise ValueError("`data` is required for shape 'mba': pass the FCC_MBA folder.")
        return load_fcc_mba(data, split=split, n=n)
    if data is not None:
        loaded = load_arrays(data)
        _check_one_hot(loaded["attributes"], SHAPES["pageview"]["attribute_dims"], data)
        if loaded["features"].shape[1:] != (550, 1):
            raise ValueError(
                f"`data`: {data!r} has features of shape {loaded['features'].shape}, "
                "expected [N, 550, 1] for shape 'pageview'."
            )
        if n is not None:
            _check_positive_int("n", n, minimum=2)
            rows = np.arange(n) % loaded["features"].shape[0]
            loaded = {k: v[rows] for k, v in loaded.items()}
        return {**loaded, **_schema("pageview")}
    if n is None:
        raise ValueError("`n` is required for shape 'pageview' when `data` is not given.")
    return pageview_standin(n, seed=seed)


def save_arrays(path, features, attributes, gen_flag):
    """Writes arrays as an npz in the original format (`data_feature`, `data_attribute`,
    `data_gen_flag`), e.g. a page-view stand-in shared by both sides or generated data.

    Args:
        path: str. Output file (`.npz`).
        features: array [N, T, F].
        attributes: array [N, A].
        gen_flag: array [N, T].
    """
    features = np.asarray(features, dtype=np.float32)
    attributes = np.asarray(attributes, dtype=np.float32)
    gen_flag = np.asarray(gen_flag, dtype=np.float32)
    if features.ndim != 3:
        raise ValueError(f"`features` must be [N, T, F], received shape {features.shape}.")
    if attributes.ndim != 2 or attributes.shape[0] != features.shape[0]:
        raise ValueError(
            f"`attributes` must be [N, A] with N={features.shape[0]}, received shape "
            f"{attributes.shape}."
        )
    if gen_flag.shape != features.shape[:2]:
        raise ValueError(
            f"`gen_flag` must be [N, T] = {features.shape[:2]}, received shape {gen_flag.shape}."
        )
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    np.savez(path, data_feature=features, data_attribute=attributes, data_gen_flag=gen_flag)


def load_arrays(path):
    """Reads an npz written by `save_arrays` (or any original-format npz).

    Returns:
        A dict with `features`, `attributes`, `gen_flag` as float32.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"`path`: no such file {path!r}.")
    with np.load(path) as npz:
        missing = [k for k in ("data_feature", "data_attribute", "data_gen_flag") if k not in npz]
        if missing:
            raise ValueError(f"`path`: {path!r} lacks the arrays {missing}.")
        return {
            "features": np.asarray(npz["data_feature"], dtype=np.float32),
            "attributes": np.asarray(npz["data_attribute"], dtype=np.float32),
            "gen_flag": np.asarray(npz["data_gen_flag"], dtype=np.float32),
        }


# Schema keys a dataset npz (`save_dataset`) carries besides its arrays.
SCHEMA_KEYS = ("max_sequence_len", "sample_len", "feature_names", "feature_normalizations",
               "attribute_names", "attribute_dims", "self_norm", "aux_disc")


def save_dataset(path, data):
    """Writes any dataset for both sides: the arrays as `save_arrays` does, plus its
    schema (`SCHEMA_KEYS` of `data`: T, S, names, normalisations, one-hot widths, and
    whether self_norm / the auxiliary critic are on) as a JSON string `schema_json`,
    readable without pickle by both numpy versions. Returns the data digest."""
    missing = [k for k in SCHEMA_KEYS if k not in data]
    if missing:
        raise ValueError(f"`data` lacks the schema keys {missing}.")
    save_arrays(path, data["features"], data["attributes"], data["gen_flag"])
    schema = json.dumps({k: data[k] for k in SCHEMA_KEYS}, default=_json_default)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez(path, schema_json=np.array(schema), **arrays)
    return data_digest(data)


def load_dataset(path):
    """Reads an npz written by `save_dataset`: the arrays and the schema keys, checked
    (one-hot blocks, shapes), in the dict layout of `load_shape_data`."""
    data = load_arrays(path)
    with np.load(path) as npz:
        if "schema_json" not in npz:
            raise ValueError(f"`path`: {path!r} has no schema_json (write it with save_dataset).")
        schema = json.loads(str(npz["schema_json"]))
    _check_one_hot(data["attributes"], schema["attribute_dims"], path)
    expected = (schema["max_sequence_len"], len(schema["feature_names"]))
    if data["features"].shape[1:] != expected:
        raise ValueError(f"`path`: features of shape {data['features'].shape}, "
                         f"expected [N, {expected[0]}, {expected[1]}].")
    return {**data, **schema}


def attribute_codes(attributes, dims):
    """Converts one-hot attribute blocks [N, sum(dims)] to integer codes [N, len(dims)]
    (argmax per block; for soft generated attributes this is the hard decision)."""
    attributes = np.asarray(attributes)
    if attributes.ndim != 2 or attributes.shape[1] != sum(dims):
        raise ValueError(
            f"`attributes` must be [N, {sum(dims)}] for blocks {list(dims)}, received "
            f"shape {attributes.shape}."
        )
    bounds = np.cumsum([0] + list(dims))
    return np.stack(
        [attributes[:, lo:hi].argmax(axis=1) for lo, hi in zip(bounds[:-1], bounds[1:])],
        axis=1,
    ).astype(np.int64)


def codes_to_one_hot(codes, dims):
    """Converts integer codes [N, len(dims)] to float32 one-hot blocks [N, sum(dims)]."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != len(dims):
        raise ValueError(
            f"`codes` must be [N, {len(dims)}], received shape {codes.shape}."
        )
    blocks = []
    for j, dim in enumerate(dims):
        column = codes[:, j]
        bad = np.flatnonzero((column < 0) | (column >= dim) | (column != np.round(column)))
        if bad.size:
            raise ValueError(
                f"`codes`: row {bad[0]} of attribute {j} holds {column[bad[0]].item()!r}, expected "
                f"an integer in [0, {dim})."
            )
        blocks.append(np.eye(dim, dtype=np.float32)[column.astype(np.int64)])
    return np.concatenate(blocks, axis=1)


def data_digest(data):
    """A short SHA-256 of the features, attributes and gen flag (as float32, C order).

    Both sides print it, so a driver can check that they trained on identical arrays.
    """
    h = hashlib.sha256()
    for key in ("features", "attributes", "gen_flag"):
        array = np.ascontiguousarray(np.asarray(data[key], dtype=np.float32))
        h.update(key.encode())
        h.update(str(array.shape).encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def _schema(shape):
    spec = SHAPES[shape]
    return {
        "shape": shape,
        "max_sequence_len": spec["max_sequence_len"],
        "sample_len": spec["sample_len"],
        "attribute_names": list(spec["attribute_names"]),
        "attribute_dims": list(spec["attribute_dims"]),
        "feature_names": list(spec["feature_names"]),
        "feature_normalizations": list(spec["feature_normalizations"]),
    }


def _check_one_hot(attributes, dims, where):
    if attributes.ndim != 2 or attributes.shape[1] != sum(dims):
        raise ValueError(
            f"{where!r}: attributes of shape {attributes.shape}, expected [N, {sum(dims)}] "
            f"(one-hot blocks {list(dims)})."
        )
    bounds = np.cumsum([0] + list(dims))
    for j, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        block = attributes[:, lo:hi]
        ok = np.all((block == 0) | (block == 1), axis=1) & (block.sum(axis=1) == 1)
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"{where!r}: attribute block {j} (columns {lo}:{hi}) of row {row} is not "
                f"one-hot: {block[row].tolist()}."
            )


# --------------------------------------------------------------------------------------
# Measuring inside a process
# --------------------------------------------------------------------------------------


def available_cores():
    """Cores this process may run on (its CPU affinity), else `os.cpu_count()`."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def peak_rss_mib():
    """Peak resident memory of this process so far, in MiB (`ru_maxrss`, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mib():
    """Resident memory of this process now, in MiB (`VmRSS` of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS line in /proc/self/status")


# What a training budget counts (`--clock`): wall clock, or the CPU seconds
# of the training process (all its threads; fair beside other jobs).
CLOCKS = ("wall", "cpu")


def _cpu_seconds_self():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Measures one phase of this process: wall seconds, CPU seconds (user + sys, all
    threads) and the CPU fraction `cpu_seconds / wall_seconds / available_cores()`.

    A fraction well below 1 on an idle machine means the work did not use all cores; on
    a busy machine it also shows how much CPU the run actually got.

    Example:
    >>> with Meter() as m:
    ...     sum(range(10**6))
    >>> m.wall_seconds > 0 and 0 <= m.cpu_fraction
    True
    """

    def __init__(self):
        self.wall_seconds = None
        self.cpu_seconds = None
        self.cpu_fraction = None
        self.cores = available_cores()

    def start(self):
        self._t0 = time.perf_counter()
        self._c0 = _cpu_seconds_self()
        return self

    def stop(self):
        self.wall_seconds = time.perf_counter() - self._t0
        self.cpu_seconds = _cpu_seconds_self() - self._c0
        self.cpu_fraction = (
            self.cpu_seconds / self.wall_seconds / self.cores if self.wall_seconds > 0 else 0.0
        )
        return self

    def elapsed(self):
        """Wall seconds since `start()` (while running)."""
        return time.perf_counter() - self._t0

    def cpu_elapsed(self):
        """This process's CPU seconds since `start()` (while running)."""
        return _cpu_seconds_self() - self._c0

    def reader(self, clock):
        """`elapsed` or `cpu_elapsed`, by `clock` (one of `CLOCKS`)."""
        return {"wall": self.elapsed, "cpu": self.cpu_elapsed}[clock]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def set_tensorflow_threads(threads=None, interop_threads=None):
    """Sets TensorFlow's intra-op / inter-op thread pools (None: leave TensorFlow's default)
    before its first op; returns the `(intra, inter)` setting now in force (0 = default).
    Imports TensorFlow: call it on the keras-dg side only."""
    import tensorflow as tf

    if threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    if interop_threads is not None:
        tf.config.threading.set_inter_op_parallelism_threads(interop_threads)
    return (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


def timed_median(fn, repeats):
    """Runs `fn()` `repeats` times, each under a `Meter`; returns `(the last result, the
    meter of the median wall time, every wall time)`. In-process repeats, so that one
    slow call (a first use of a thread, a page fault storm) does not decide a figure.

    Example:
    >>> result, meter, seconds = timed_median(lambda: sum(range(1000)), 3)
    >>> result, len(seconds), meter.wall_seconds in seconds
    (499500, 3, True)
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"`repeats` must be a positive int, received {repeats!r}.")
    meters, result = [], None
    for _ in range(repeats):
        with Meter() as meter:
            result = fn()
        meters.append(meter)
    ordered = sorted(meters, key=lambda m: m.wall_seconds)
    return result, ordered[(repeats - 1) // 2], [m.wall_seconds for m in meters]


def emit_json(record):
    """Prints `record` as ONE JSON line on stdout (what `run_json` parses) and returns it."""
    line = json.dumps(record, sort_keys=True, default=_json_default)
    print(line, flush=True)
    return line


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# --------------------------------------------------------------------------------------
# Measuring from the driver
# --------------------------------------------------------------------------------------


def thread_env(threads, base=None):
    """An environment for a child process that caps OpenMP/MKL/BLAS threads at `threads`
    (torch and TensorFlow still need their own thread settings, passed as flags)."""
    _check_positive_int("threads", threads)
    env = dict(os.environ if base is None else base)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def parse_json_line(text):
    """Returns the last line of `text` that is a JSON object, as a dict.

    Raises:
        ValueError: when no line is a JSON object.
    """
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    tail = text[-500:]
    raise ValueError(f"no JSON object line in the output; its end was:\n{tail}")


def run_json(command, env=None, cwd=None, timeout=None):
    """Runs `command`, waits for it, and parses the one JSON line it printed.

    The child's own peak memory and CPU time are read with `os.wait4`, which reports that
    one child's `rusage` (unlike `RUSAGE_CHILDREN`, which keeps the maximum over every
    child ever waited for).

    Args:
        command: list of str. The command line.
        env: dict or None. Its environment (see `thread_env`). Defaults to None (inherit).
        cwd: str or None. Its working folder. Defaults to None.
        timeout: float or None. Seconds before its process group is killed. Defaults to
            None (no limit).

    Returns:
        A dict: `record` (the parsed JSON line), `wall_s` (whole process, including
        imports and setup), `child_peak_rss_mib`, `child_cpu_s` (user + sys),
        `returncode`, `stderr_tail`, `command`.

    Raises:
        RuntimeError: when the command fails, times out or prints no JSON line; the
            message carries the end of its stderr.
    """
    if not command or not all(isinstance(c, str) for c in command):
        raise ValueError(f"`command` must be a non-empty list of str, received {command!r}.")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
        )
        timed_out = threading.Event()

        def _kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, _kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    stderr_tail = stderr[-2000:]
    if timed_out.is_set():
        raise RuntimeError(
            f"{' '.join(command)} ran past {timeout} s and was killed; stderr ends:\n{stderr_tail}"
        )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {proc.returncode}; stderr ends:\n{stderr_tail}"
        )
    try:
        record = parse_json_line(stdout)
    except ValueError as e:
        raise RuntimeError(f"{' '.join(command)}: {e}\nstderr ends:\n{stderr_tail}") from None
    return {
        "record": record,
        "wall_s": wall,
        "child_peak_rss_mib": usage.ru_maxrss / 1024.0,
        "child_cpu_s": usage.ru_utime + usage.ru_stime,
        "returncode": proc.returncode,
        "stderr_tail": stderr_tail,
        "command": list(command),
    }


# --------------------------------------------------------------------------------------
# Summaries and tables
# --------------------------------------------------------------------------------------


def summarize(values):
    """Median with spread of repeated measurements.

    Args:
        values: list of numbers (at least one; NaN and None are not allowed).

    Returns:
        A dict: `median`, `min`, `max`, `n`, and `spread` = (max - min) / 2 / |median|
        (relative half-range; 0 for a single value or a zero median).

    Example:
    >>> summarize([3.0, 1.0, 2.0])["median"]
    2.0
    """
    values = list(values)
    if not values:
        raise ValueError("`values` must hold at least one measurement, received [].")
    for i, v in enumerate(values):
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                or not math.isfinite(float(v)):
            raise ValueError(f"`values`: entry {i} is {v!r}, expected a finite number.")
    values = [float(v) for v in values]
    median = statistics.median(values)
    low, high = min(values), max(values)
    spread = (high - low) / 2.0 / abs(median) if median else 0.0
    return {"median": median, "min": low, "max": high, "n": len(values), "spread": spread}


def format_summary(summary, digits=0, unit=""):
    """Formats a `summarize` dict as e.g. `"3,650 ±4% (n=5)"`."""
    text = f"{summary['median']:,.{digits}f}{unit}"
    if summary["n"] > 1:
        text += f" ±{100.0 * summary['spread']:.0f}%"
    return f"{text} (n={summary['n']})"


def cpu_model():
    """The CPU model name from /proc/cpuinfo (with family/model when the name is bare)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if ":" in line:
                    key, value = line.split(":", 1)
                    fields.setdefault(key.strip(), value.strip())
                elif fields:
                    break  # only the first processor block
    except OSError:
        return platform.processor() or platform.machine()
    name = fields.get("model name", platform.machine())
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    flags = fields.get("flags", "").split()
    simd = [f for f in ("avx512f", "avx2") if f in flags]
    if simd:
        name += f", {simd[0].upper()}"
    return name


def package_versions(names):
    """Installed versions of `names` in THIS interpreter, without importing them
    (`None` for a package that is not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info(versions=None):
    """The machine, date and versions for a results table.

    Args:
        versions: dict or None. Extra `name -> version` entries (e.g. the peer's torch and
            gretel-synthetics versions, taken from its JSON line). Defaults to None.

    Returns:
        A dict: `cpu`, `cores` (available to this process), `cpu_count`, `memory_gib`,
        `date` (UTC, ISO), `python`, `versions`.
    """
    memory = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
                    break
    except OSError:
        pass
    return {
        "cpu": cpu_model(),
        "cores": available_cores(),
        "cpu_count": os.cpu_count(),
        "memory_gib": memory,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "versions": dict(versions or {}),
    }


def machine_line(info=None):
    """One Markdown line describing the machine: `**Machine:** AMD EPYC ..., 2 cores, ...`."""
    info = info or machine_info()
    versions = ", ".join(f"{k} {v}" for k, v in sorted(info["versions"].items()) if v)
    text = (
        f"**Machine:** {info['cpu']}, {info['cores']} cores"
        + (f", {info['memory_gib']} GiB" if info.get("memory_gib") else "")
        + f"; **date:** {info['date']}; **Python** {info['python']}"
    )
    return text + (f"; {versions}" if versions else "")


def _cell(value):
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:
            return "–"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_row(cells):
    """One Markdown table row: `| a | b | c |` (floats get sensible rounding, `|` escaped)."""
    cells = list(cells)
    if not cells:
        raise ValueError("`cells` must hold at least one cell, received [].")
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown_table(header, rows):
    """A Markdown table from a header and rows of the same width."""
    header = list(header)
    lines = [markdown_row(header), "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(
                f"`rows`: row {i} has {len(row)} cells, expected {len(header)} (the header)."
            )
        lines.append(markdown_row(row))
    return "\n".join(lines)
