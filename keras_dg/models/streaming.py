"""Streaming generation: `DoppelGANger.generate_to`, many series to files.

`StreamingMixin.generate_to` writes `n` generated series to a folder of
part files (Parquet, CSV or npz) in chunks, so memory stays the same
whatever `n`: one chunk is generated while the previous one is decoded to
a table and written by a writer thread. The rows come from the same
per-row noise as `generate` (`GenerationMixin._generation_noise`, long
with `length`), so part files hold exactly the rows of `generate(n,
seed=seed, length=length)`, in order, and so do `N` shards of a run
(`shard=(i, N)`), generated anywhere.

A run's folder:

- `part-00000.parquet`, `part-00001.parquet`, ... (with `shard=(i, N)`,
  `shard-0000i-of-0000N-part-00000.parquet`, ...): each part is written to a
  hidden temp name (`.tmp-<pid>-...`, `keras_dg.files.atomic_write`) and
  renamed when complete, so a visible part is always a whole file.
- `_progress.json` while the run goes on: the run's settings, the parts
  finished (with their rows and sizes) and the part being written (listed
  before it appears).
- `_manifest.json` (`_manifest-shard-0000i-of-0000N.json` for a shard),
  written last: the same record with `"complete": true`. A folder without
  it is unfinished.

Readers that skip names starting with `_` or `.` (pyarrow datasets,
Spark, `pandas.read_parquet(folder)`) read exactly the parts.
"""

import hashlib
import importlib
import json
import os
import queue
import threading
import time

import keras
import numpy as np
from keras import ops

from keras_dg import files
from keras_dg.models.generation import _OUTPUT_KEYS
from keras_dg.models.generation import _replicas
from keras_dg.validation import check_bool
from keras_dg.validation import check_int
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

FORMATS = ("parquet", "csv", "npz")
LAYOUTS = ("long", "wide")
DEFAULT_ROWS_PER_FILE = 100_000
# Version of the progress/manifest record; a reader refuses a larger one.
RECORD_FORMAT = 1
# Time steps (series x T) generated and decoded at once: the chunk that
# bounds memory (4,000 series at T=56: a Parquet row group of about 200,000
# rows). At the MBA shape the peak above the warm model was +170 MiB with
# it, +310 MiB with 1,000,000 steps and the same throughput
# (benchmarks/streaming.py).
_CHUNK_STEPS = 250_000
# The settings a resumed run must share with the recorded one.
_RUN_KEYS = (
    "n", "seed", "entropy", "format", "layout", "rows_per_file", "shard",
    "use_ema", "length", "draw_missing", "model",
)


class StreamingMixin:
    """`generate_to` for `DoppelGANger` (needs `GenerationMixin`)."""

    def generate_to(
        self,
        path,
        n,
        format="parquet",
        rows_per_file=DEFAULT_ROWS_PER_FILE,
        seed=None,
        layout=None,
        batch_size=1000,
        shard=None,
        resume=False,
        overwrite=False,
        progress=True,
        use_ema=True,
        length=None,
        draw_missing=True,
    ):
        """Generates `n` series into a folder of part files, in chunks.

        Memory does not grow with `n`: series are generated, decoded and
        appended to the current part a chunk at a time (about 250,000
        time steps), the next chunk generating while a writer thread
        writes the last. Part `k` holds rows `[k * rows_per_file, (k + 1) *
        rows_per_file)` of `generate(n, seed=seed, length=length)`: the
        same values.

        Each part is written under a hidden temp name and renamed when
        whole; `_progress.json` lists the finished parts as the run goes,
        and `_manifest.json`, written last, marks the set complete (see the
        module docstring). A killed run leaves finished parts and its
        progress record: `resume=True` continues from them.

        Args:
            path: str or path-like. The output folder (made if missing; its
                parent must exist).
            n: int. Number of series of the whole run (all shards).
            format: str. `"parquet"` (through pyarrow), `"csv"` or `"npz"`.
                Parquet and CSV hold a table: in real units and the
                original column names with the model's `transformer`
                (`generate_dataframe`'s table), else the encoded values
                (`TableTransformer.from_dataset`: `example_id`, `step`,
                `attribute_0`, ..., `feature_0`, ...; discrete columns as
                category indices). npz holds the encoded arrays in the
                original format (`data_feature`, `data_attribute`,
                `data_gen_flag`), one part in memory at a time. Defaults
                to `"parquet"`.
            rows_per_file: int. Series per part file. Defaults to 100,000.
            seed: int or None. The same seed gives the same series (as
                `generate`). None draws one, recorded in the manifest;
                sharding needs an int. Defaults to None.
            layout: `"long"` (one row per series and step), `"wide"` (one
                row per series, one column per feature and step,
                `<name>_<step>` unless the transformer was fitted wide) or
                None: the transformer's own layout (long without one).
                Tables only. Defaults to None.
            batch_size: int. Series per forward pass, as in `generate`
                (a `rows_per_file` that is a multiple of it wastes no
                pass). Defaults to 1000.
            shard: `(i, N)` or None. Generate only the `i`-th of `N`
                contiguous row ranges of the `n` series
                (`[i * n // N, (i + 1) * n // N)`, same seed stream): the
                union of the `N` shards' parts is the unsharded run. Part
                and record names carry the shard, so shards may share a
                folder. Defaults to None (all rows).
            resume: bool. Continue a killed run from its finished parts
                (its recorded settings must match; a complete run is left
                as it is). Defaults to False.
            overwrite: bool. With `resume=False`, replace an earlier run in
                `path`: remove the files its record lists (never other
                files) and start again. Defaults to False.
            progress: bool. Show a progress bar with series/s. Defaults to
                True.
            use_ema: bool. As in `generate`. Defaults to True.
            length: int or None. Time steps per series, as in `generate`:
                None for the model's `max_sequence_len` (series end where
                the generation flag says); an int up to 100 times it for
                series of exactly `length` steps, each one piece. Recorded
                in the manifest (a resumed run must pass the same). A
                `"wide"` table holds the model's `max_sequence_len` steps:
                a longer `length` needs the long layout (or npz). Defaults
                to None.
            draw_missing: bool. Missingness channels drawn from the
                generator's softmax (True) or by argmax (False), as in
                `generate`; recorded in the manifest for a model with
                channels (None without). Defaults to True.

        Returns:
            The manifest, a dict: the settings, `parts` (each `file`,
            `rows` `[start, stop)` and `bytes`) and `path`.

        Example:

        >>> manifest = model.generate_to(  # doctest: +SKIP
        ...     "synthetic/", 1_000_000, format="parquet", seed=0)
        >>> pandas.read_parquet("synthetic/")  # doctest: +SKIP
        """
        run = _check_run(
            self, path, n, format, rows_per_file, seed, layout, batch_size,
            shard, resume, overwrite, progress, use_ema, length,
            draw_missing,
        )
        folder = run["folder"]
        names = _record_names(run["shard"])
        transformer = _table_transformer(self, run["format"], run["layout"])
        done = _prepare_folder(run, names)
        if done is not None:  # Already complete (resume=True).
            return done
        record = _new_record(run)
        record["parts"] = list(run.pop("finished"))
        finished = {part["file"] for part in record["parts"]}
        todo = [p for p in run["plan"] if p["file"] not in finished]
        total = run["rows"][1] - run["rows"][0]
        rows_before = sum(p["rows"][1] - p["rows"][0] for p in record["parts"])
        bar = (
            keras.utils.Progbar(
                total, unit_name="series", stateful_metrics=["series/s"]
            )
            if run["progress"] else None
        )
        length = run["length"]
        noise = self._generation_noise(
            n, run["entropy"], length, run["draw_missing"] is not False
        )
        size = min(run["batch_size"], n)  # as `generate`
        with self._generation_weights(
            run["use_ema"]
        ), self._predict_function_for(length):
            writer = _Writer(folder, names, record, transformer, run["format"])
            began = time.perf_counter()

            def report():
                written = writer.rows_written
                if bar is None or not written:
                    return
                rate = written / max(time.perf_counter() - began, 1e-9)
                bar.update(rows_before + written, values=[("series/s", rate)])

            try:
                for part in todo:
                    writer.start_part(part)
                    start, stop = part["rows"]
                    for a, b in _chunks(start, stop, run["chunk"]):
                        dataset = _generate_rows(
                            self, noise, a, b, size, n, length
                        )
                        writer.put(dataset, a, last=b == stop)
                        report()
                writer.finish()
            except BaseException:
                writer.abort()
                raise
        report()
        record["complete"] = True
        record.pop("pending", None)
        record["parts"].sort(key=lambda p: p["rows"][0])
        files.atomic_write_json(
            os.path.join(folder, names["manifest"]), record
        )
        progress_path = os.path.join(folder, names["progress"])
        if os.path.exists(progress_path):
            os.remove(progress_path)
        return dict(record, path=folder)


def model_digest(model):
    """`{"config_sha256", "weights_sha256"}` of `model`: a resumed run
    must come from the same model (seed-generator states left out)."""
    config = json.dumps(model.get_config(), sort_keys=True, default=str)
    weights = hashlib.sha256()
    for variable in model.weights:
        if "seed_generator" in variable.path:
            continue
        weights.update(variable.path.encode())
        weights.update(np.ascontiguousarray(
            ops.convert_to_numpy(variable)
        ).tobytes())
    return {
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "weights_sha256": weights.hexdigest(),
    }


def check_shard(shard, n, name="shard"):
    """`(i, N)` as ints with `0 <= i < N <= n`; None passes through."""
    if shard is None:
        return None
    if isinstance(shard, str) or not hasattr(shard, "__len__") or len(
        shard
    ) != 2:
        raise ValueError(
            f"`{name}` must be a pair (i, N): the i-th of N shards (0 <= i"
            f" < N). Received: {name}={shard!r}"
        )
    count = check_int(shard[1], f"{name} N", minimum=1)
    index = check_int(shard[0], f"{name} i", minimum=0)
    if index >= count:
        raise ValueError(
            f"`{name}` i={index} must be below N={count} (shards are "
            f"numbered 0 to N - 1). Received: {name}={tuple(shard)!r}"
        )
    if count > n:
        raise ValueError(
            f"`{name}` N={count} exceeds n={n}: every shard needs at least "
            f"one series. Received: {name}={tuple(shard)!r}"
        )
    return index, count


def shard_rows(shard, n):
    """`[start, stop)`: the rows of shard `(i, N)` of `n` series."""
    index, count = shard
    return index * n // count, (index + 1) * n // count


# === Checks and the folder's state ===


def _check_run(
    model, path, n, fmt, rows_per_file, seed, layout, batch_size, shard,
    resume, overwrite, progress, use_ema, length, draw_missing=True,
):
    """Every argument checked before any work; the run's plan."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValueError(
            f"`path` must be a folder path. Received: path={path!r}"
        ) from None
    n = check_positive_int(n, "n")
    fmt = check_one_of(fmt, "format", FORMATS)
    rows_per_file = check_positive_int(rows_per_file, "rows_per_file")
    seed = check_seed(seed, allow_none=True)
    batch_size = check_positive_int(batch_size, "batch_size")
    resume = check_bool(resume, "resume")
    overwrite = check_bool(overwrite, "overwrite")
    progress = check_bool(progress, "progress")
    use_ema = check_bool(use_ema, "use_ema")
    draw_missing = check_bool(draw_missing, "draw_missing")
    length = model._check_length(length)
    shard = check_shard(shard, n)
    if layout is not None:
        layout = check_one_of(layout, "layout", LAYOUTS)
        if fmt == "npz":
            raise ValueError(
                "`layout` applies to tables (format 'parquet' or 'csv'); "
                "npz parts hold the encoded arrays. Received: "
                f"layout={layout!r}, format='npz'"
            )
    if resume and overwrite:
        raise ValueError(
            "Pass `resume=True` (continue the run in `path`) or "
            "`overwrite=True` (start it again), not both."
        )
    if shard is not None and seed is None:
        raise ValueError(
            "`shard` needs an int `seed`: every shard must draw from the "
            f"same seed stream. Received: seed=None, shard={shard!r}"
        )
    if fmt == "parquet":
        try:
            importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise ValueError(
                "format='parquet' needs pyarrow (`pip install pyarrow`); "
                "or use format='csv' or 'npz'."
            ) from None
    folder = os.path.abspath(path)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"`path` '{path}' is a file; expected a folder.")
    parent = os.path.dirname(folder)
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            f"The folder of `path` '{parent}' does not exist."
        )
    if fmt != "npz" and layout is None:
        transformer = getattr(model, "transformer", None)
        layout = transformer.layout if transformer is not None else "long"
    if (
        layout == "wide" and length is not None
        and length > model.max_sequence_len
    ):
        raise ValueError(
            f"A wide table holds the model's max_sequence_len="
            f"{model.max_sequence_len} steps per series; length={length} "
            "needs layout='long' (or format='npz'). Received: "
            f"layout='wide', length={length}"
        )
    entropy = np.random.SeedSequence(seed).entropy
    shard = shard or (0, 1)
    rows = shard_rows(shard, n)
    size = min(batch_size, n)  # `generate`'s forward pass
    steps = max(1, _CHUNK_STEPS // (length or model.max_sequence_len))
    chunk = max(size, steps // size * size)
    return {
        "folder": folder,
        "n": n,
        "seed": seed,
        "entropy": int(entropy),
        "format": fmt,
        "layout": layout,
        "rows_per_file": rows_per_file,
        "shard": list(shard),
        "rows": list(rows),
        "use_ema": use_ema,
        "length": length,
        # Only with missingness channels (records before it had none).
        "draw_missing": (
            draw_missing if model.missing_channel_count else None
        ),
        "batch_size": batch_size,
        "chunk": chunk,
        "resume": resume,
        "overwrite": overwrite,
        "progress": progress,
        "model": model_digest(model),
        "plan": _plan(rows, rows_per_file, shard, fmt),
    }


def _record_names(shard):
    """`{"manifest", "progress"}`: the record files of a shard."""
    index, count = shard
    suffix = "" if count == 1 else f"-shard-{index:05d}-of-{count:05d}"
    return {
        "manifest": f"_manifest{suffix}.json",
        "progress": f"_progress{suffix}.json",
    }


def _plan(rows, rows_per_file, shard, fmt):
    """The parts of rows `[start, stop)`: `{"file", "rows"}` each."""
    start, stop = rows
    index, count = shard
    starts = range(start, stop, rows_per_file)
    width = max(5, len(str(len(starts) - 1)))
    prefix = "" if count == 1 else f"shard-{index:05d}-of-{count:05d}-"
    return [
        {
            "file": f"{prefix}part-{k:0{width}d}.{fmt}",
            "rows": [a, min(a + rows_per_file, stop)],
        }
        for k, a in enumerate(starts)
    ]


def _read_record(path):
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"Cannot read the generation record '{path}' ({e}); move it "
            "away to start again."
        ) from None
    if not isinstance(record, dict) or not isinstance(
        record.get("parts"), list
    ):
        raise ValueError(
            f"'{path}' is not a generate_to record (no list of parts)."
        )
    version = record.get("record_format")
    if not isinstance(version, int) or version > RECORD_FORMAT:
        raise ValueError(
            f"'{path}' has record_format={version!r}; this keras-dg reads "
            f"up to {RECORD_FORMAT}. Upgrade keras-dg or start again."
        )
    for part in record["parts"] + [
        {"file": p} for p in record.get("pending", [])
    ]:
        name = part.get("file") if isinstance(part, dict) else None
        if not isinstance(name, str) or os.path.basename(name) != name or (
            name in ("", ".", "..")
        ):
            raise ValueError(
                f"'{path}' lists a part {part!r} that is not a file name in "
                "its folder; refusing to touch it."
            )
    return record


def _listed(record):
    return [p["file"] for p in record["parts"]] + list(
        record.get("pending", [])
    )


def _check_same_run(record, run, path):
    for key in _RUN_KEYS:
        recorded = record.get(key)
        if key == "seed" and run["seed"] is None:
            continue  # resume=True without a seed takes the recorded one
        if recorded != run[key]:
            what = "the model" if key == "model" else f"`{key}`"
            raise ValueError(
                f"Cannot resume: {what} differs from the run recorded in "
                f"'{path}' ({key}={run[key]!r} now, {recorded!r} there). "
                "Pass the recorded settings, or resume=False with "
                "overwrite=True to start again."
            )


def _prepare_folder(run, names):
    """Applies resume/overwrite to the folder; sets `run["finished"]` (the
    parts kept) and returns the manifest if the run is already complete."""
    folder = run["folder"]
    manifest = os.path.join(folder, names["manifest"])
    progress = os.path.join(folder, names["progress"])
    record_path = next(
        (p for p in (manifest, progress) if os.path.exists(p)), None
    )
    record = _read_record(record_path) if record_path else None
    run["finished"] = []
    if record is not None and run["resume"]:
        if run["seed"] is None:
            run["seed"] = record.get("seed")
            run["entropy"] = record.get("entropy")
        _check_same_run(record, run, record_path)
        if record_path == manifest and record.get("complete"):
            return dict(record, path=folder)
        for part in record["parts"]:
            file = os.path.join(folder, part["file"])
            if os.path.isfile(file) and os.path.getsize(file) == part.get(
                "bytes"
            ):
                run["finished"].append(part)
    elif record is not None:
        if not run["overwrite"]:
            state = "complete" if record_path == manifest else "unfinished"
            name = os.path.basename(record_path)
            raise ValueError(
                f"'{folder}' holds a {state} generate_to run ('{name}'); "
                "pass resume=True to continue it or overwrite=True to replace "
                "it (only the files it lists are removed)."
            )
        for name in _listed(record):
            _remove_file(os.path.join(folder, name))
        for path in (progress, manifest):
            _remove_file(path)
        record = None
    kept = {part["file"] for part in run["finished"]}
    listed = set(_listed(record)) if record is not None else set()
    for part in run["plan"]:
        file = os.path.join(folder, part["file"])
        if part["file"] not in kept | listed and os.path.lexists(file):
            raise ValueError(
                f"'{file}' exists and no generate_to record in '{folder}' "
                "lists it: it is not this run's file. Move it away or pick "
                "another `path`."
            )
    os.makedirs(folder, exist_ok=True)
    files.remove_stale_temp_files(folder)
    return None


def _remove_file(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _new_record(run):
    from keras_dg.version import __version__

    record = {
        "record_format": RECORD_FORMAT,
        "complete": False,
        "keras_dg_version": __version__,
        "backend": keras.config.backend(),
    }
    for key in _RUN_KEYS + ("rows",):
        record[key] = run[key]
    record["columns"] = None
    return record


# === Generation and tables ===


def _generate_rows(model, noise, start, stop, size, n, length=None):
    """Rows `[start, stop)` of `generate(n, seed, length=length)` as a
    dataset (with `length`, under `_predict_function_for(length)`).

    The forward passes are `generate`'s own: rows `[k * size, (k + 1) *
    size)` (the last one cut at `n` and padded), sliced to the rows asked
    for. The same inputs at the same place in a pass give the same bytes
    (a row's result can depend on its place in a pass: XLA and oneDNN
    treat the rows past a multiple of their tile apart). Unaligned ends
    cost at most one extra pass each.
    """
    lo = start // size * size
    hi = min(-(-stop // size) * size, n)

    def chunk_inputs(a, b):
        inputs = noise.rows(lo + a, lo + b)
        if length is not None:
            # Every series runs the full length, as in `generate`.
            inputs["full_length"] = np.ones((b - a,), "float32")
        return inputs

    if _replicas(model) > 1:
        out = model.predict(
            chunk_inputs(0, hi - lo), batch_size=size, verbose=0
        )
        dataset = model._dataset(*(out[key] for key in _OUTPUT_KEYS))
    else:
        dataset = model._generate_chunks(chunk_inputs, hi - lo, size)
    steps = dataset.max_sequence_len if length is None else length
    if (lo, hi) == (start, stop) and steps == dataset.max_sequence_len:
        return dataset
    # The rows asked for; with `length`, the last LSTM step's block
    # trimmed to it (as `generate`).
    a, b = start - lo, stop - lo
    return model._dataset(
        dataset.features[a:b, :steps], dataset.attributes[a:b],
        dataset.gen_flag[a:b, :steps],
    )


def _chunks(start, stop, chunk):
    """`[a, b)` ranges covering `[start, stop)`, cut at the multiples of
    `chunk` (so that they line up with the forward passes)."""
    a = start
    while a < stop:
        b = min((a // chunk + 1) * chunk, stop)
        yield a, b
        a = b


def _table_transformer(model, fmt, layout):
    """The transformer that writes the tables of `fmt` in `layout` (None
    for npz)."""
    if fmt == "npz":
        return None
    transformer = getattr(model, "transformer", None)
    if transformer is None:
        from keras_dg.data.table_transformer import TableTransformer
        from keras_dg.dataset import TimeSeriesDataset

        width = sum(o.dim for o in model.feature_outputs)
        empty = TimeSeriesDataset(
            np.zeros((1, model.max_sequence_len, width), "float32"),
            np.zeros(
                (1, sum(o.dim for o in model.attribute_outputs)), "float32"
            ),
            np.zeros((1, model.max_sequence_len), "float32"),
            model.feature_outputs,
            model.attribute_outputs,
            validate=False,
        )
        transformer = TableTransformer.from_dataset(empty)
    return with_layout(transformer, layout)


def with_layout(transformer, layout):
    """`transformer` writing tables in `layout` (`"long"` or `"wide"`).

    Long to wide: one row per series, the feature `x` in the columns
    `x_0`, `x_1`, ... (one per step, missing after the series' end).
    Wide to long: one row per series and step, numbered by the
    transformer's `example_id` (`example_id` if it has none) and a `step`
    column. The scaling, dtypes and categories stay.
    """
    from keras_dg.data.table_transformer import TableTransformer

    config = transformer.get_config()
    if layout == config["layout"]:
        return transformer
    names = {s["name"] for s in config["features"] + config["attributes"]}
    names |= {c["name"] for c in config["constants"]}
    order = config["column_order"]
    # Constant features have step columns in a wide table too.
    feature_columns = config["features"] + [
        c for c in config["constants"] if c["role"] == "feature"
    ]
    if layout == "wide":
        steps = range(config["max_sequence_len"])
        new_order = []
        features = {s["name"]: s for s in feature_columns}
        for spec in feature_columns:
            spec["columns"] = [f"{spec['name']}_{t}" for t in steps]
            spec["column_dtypes"] = [spec["dtype"]] * len(steps)
        for column in order:
            if column == config["time"]:
                continue
            if column in features:
                new_order += features[column]["columns"]
            else:
                new_order.append(column)
        added = [c for s in feature_columns for c in s["columns"]]
        config.update(
            layout="wide", time=None, time_grid=None, column_order=new_order
        )
    else:
        example_id = config["example_id"]
        if example_id is None:
            example_id = "example_id"
        time_column = "step"
        added = [time_column] + (
            [example_id] if config["example_id"] is None else []
        )
        owner = {
            column: spec["name"]
            for spec in feature_columns
            for column in spec["columns"]
        }
        new_order = [example_id, time_column]
        for column in order:
            column = owner.get(column, column)
            if column not in new_order:
                new_order.append(column)
        for spec in feature_columns:
            spec.pop("columns")
            spec.pop("column_dtypes")
        config.update(
            layout="long", example_id=example_id, time=time_column,
            time_grid=None, column_order=new_order,
        )
    taken = names | {transformer.example_id} - {None}
    clashes = sorted(str(c) for c in set(added) & taken)
    if clashes:
        raise ValueError(
            f"layout={layout!r} would name new columns {clashes}, which "
            "the table already uses; generate in the transformer's layout "
            f"({transformer.layout!r}) instead."
        )
    return TableTransformer.from_config(config)


# === The writer thread ===


class _Aborted(Exception):
    pass


class _Writer:
    """Decodes and writes chunks on one thread, part by part.

    `start_part(part)` opens the next part, `put(dataset, start, last)`
    hands over a chunk (blocking while the thread is one chunk behind, so
    at most three chunks live at once: being generated, queued, being
    written), `finish()` waits for every part, `abort()` stops the thread
    and removes the part being written. Errors of the thread are raised in
    the caller's next call. The progress record is written on the thread
    only: before each part appears (`pending`) and after it.
    """

    def __init__(self, folder, names, record, transformer, fmt):
        self.folder = folder
        self.names = names
        self.record = record
        self.transformer = transformer
        self.format = fmt
        self.rows_written = 0
        self._queue = queue.Queue(maxsize=1)
        self._abort = threading.Event()
        self._error = None
        self._thread = threading.Thread(
            target=self._run, name="keras_dg_generate_to", daemon=True
        )
        self._thread.start()

    # --- Caller side ---

    def _send(self, item):
        while True:
            self._raise_error()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _raise_error(self):
        if self._error is not None:
            raise self._error

    def start_part(self, part):
        self._send(("part", part))

    def put(self, dataset, start, last):
        self._send(("chunk", (dataset, start, last)))

    def finish(self):
        self._send(("stop", None))
        while self._thread.is_alive():
            self._thread.join(0.1)
        self._raise_error()

    def abort(self):
        self._abort.set()
        self._thread.join()

    # --- Thread side ---

    def _next(self):
        while True:
            if self._abort.is_set():
                raise _Aborted()
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                continue

    def _run(self):
        try:
            while True:
                kind, value = self._next()
                if kind == "stop":
                    return
                self._write_part(value)
        except _Aborted:
            pass
        except BaseException as e:  # handed to the caller
            self._error = e

    def _save_record(self):
        files.atomic_write_json(
            os.path.join(self.folder, self.names["progress"]), self.record
        )

    def _write_part(self, part):
        name = part["file"]
        path = os.path.join(self.folder, name)
        self.record["pending"] = [name]
        self._save_record()
        with files.atomic_write(path) as tmp:
            sink = _SINKS[self.format](tmp, self.transformer)
            try:
                while True:
                    kind, (dataset, start, last) = self._next()
                    if kind != "chunk":
                        raise RuntimeError(f"expected a chunk, got {kind}")
                    sink.write(dataset, start)
                    if self.record["columns"] is None:
                        self.record["columns"] = sink.columns
                    self.rows_written += len(dataset)
                    if last:
                        break
                sink.finish()
            finally:
                sink.close()
        self.record["parts"].append(
            dict(part, bytes=os.path.getsize(path))
        )
        self.record["pending"] = []
        self._save_record()


# === Part formats ===


def _columns(transformer, dataset, start):
    """The chunk's table as its columns (`inverse_columns`); series
    numbered from `start` (its first row)."""
    import pandas as pd

    columns = transformer.inverse_columns(dataset)
    if transformer.example_id is not None:
        column = transformer.example_id
        columns[column] = pd.Series(columns[column].to_numpy() + start)
    return columns


class _ArrowSink:
    """One table file written chunk by chunk through pyarrow (the schema is
    the first chunk's, from its DataFrame, so that pandas reads the file
    back with the dtypes of `generate_dataframe`); subclasses open the
    writer and write a chunk. The later chunks go column by column to
    Arrow, without a DataFrame (whose building copies every column into
    pandas' blocks)."""

    def __init__(self, path, transformer):
        self.path = path
        self.transformer = transformer
        self.columns = None
        self._writer = None
        self._schema = None

    def write(self, dataset, start):
        import pandas as pd
        import pyarrow as pa

        columns = _columns(self.transformer, dataset, start)
        if self._writer is None:
            arrow = pa.Table.from_pandas(
                pd.DataFrame(columns), preserve_index=False
            )
            self._schema = arrow.schema
            self.columns = [str(c) for c in columns]
            self._writer = self._open()
        else:
            arrow = pa.Table.from_arrays(
                [
                    pa.Array.from_pandas(column, type=field.type)
                    for column, field in zip(columns.values(), self._schema)
                ],
                schema=self._schema,
            )
        self._write(arrow)

    def finish(self):
        self.close()

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _ParquetSink(_ArrowSink):
    """One Parquet file; each chunk a row group.

    Dictionary encoding for every column but the floating-point ones:
    generated floats almost never repeat, so their dictionaries only cost
    time and space (with the column-by-column conversion: 0.14 instead of
    0.23 CPU-seconds per 17,000-series FCC_MBA chunk, a 5% smaller file;
    benchmarks/RESULTS.md)."""

    def _open(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        dictionary = [
            f.name for f in self._schema if not pa.types.is_floating(f.type)
        ]
        return pq.ParquetWriter(
            self.path, self._schema, use_dictionary=dictionary or False
        )

    def _write(self, arrow):
        self._writer.write_table(arrow)


class _CsvSink(_ArrowSink):
    """One CSV file with a header (pyarrow's writer: 7x pandas')."""

    def _open(self):
        import pyarrow.csv as pa_csv

        return pa_csv.CSVWriter(
            self.path,
            _csv_schema(self._schema),
            write_options=pa_csv.WriteOptions(quoting_style="needed"),
        )

    def _write(self, arrow):
        self._writer.write_table(_csv_table(arrow))


def _csv_schema(schema):
    import pyarrow as pa

    return pa.schema([
        pa.field(f.name, f.type.value_type)
        if pa.types.is_dictionary(f.type) else f
        for f in schema
    ])


def _csv_table(arrow):
    """Categorical columns as their values (the CSV writer takes no
    dictionaries)."""
    return arrow.cast(_csv_schema(arrow.schema))


class _NpzSink:
    """One npz file in the original format. The chunks of the part are
    kept until it is complete (encoded arrays: T x F float32 per series),
    then each array is written chunk by chunk (no concatenated copy)."""

    def __init__(self, path, transformer):
        self.path = path
        self.columns = list(_NPZ_KEYS)
        self._chunks = []

    def write(self, dataset, start):
        self._chunks.append(dataset)

    def finish(self):
        import zipfile

        with zipfile.ZipFile(
            self.path, "w", zipfile.ZIP_STORED, allowZip64=True
        ) as archive:
            for key, attr in _NPZ_KEYS.items():
                blocks = [
                    np.ascontiguousarray(getattr(d, attr), dtype="<f4")
                    for d in self._chunks
                ]
                header = {
                    "descr": "<f4",
                    "fortran_order": False,
                    "shape": (sum(len(b) for b in blocks),)
                    + blocks[0].shape[1:],
                }
                with archive.open(f"{key}.npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array_header_1_0(f, header)
                    for block in blocks:
                        f.write(block.data)
        self._chunks = []

    def close(self):
        self._chunks = []


_NPZ_KEYS = {
    "data_feature": "features",
    "data_attribute": "attributes",
    "data_gen_flag": "gen_flag",
}
_SINKS = {"parquet": _ParquetSink, "csv": _CsvSink, "npz": _NpzSink}
