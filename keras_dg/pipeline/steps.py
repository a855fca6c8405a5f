"""The steps of a pipeline run, each on a checked `RunPlan`: build the
model, train it and save it, generate, and write the fidelity report."""

import os
import time

from keras_dg import files
from keras_dg.callbacks.time_budget import UNLIMITED_EPOCHS
from keras_dg.dataset import TimeSeriesDataset

# The split name of the generated data (`generated/data_generated.npz`).
GENERATED_SPLIT = "generated"
# Extras that give real units; copied onto the generated data.
_UNIT_EXTRAS = (
    "data_feature_min", "data_feature_max",
    "data_attribute_min", "data_attribute_max",
)


def settings_name(plan):
    """"preset 'web'", or "settings from the data" (no preset)."""
    name = plan.preset["name"]
    return "settings from the data" if name is None else f"preset {name!r}"


def write_csv(table, path):
    """Writes a DataFrame to `path` atomically (temp file + rename)."""
    path = os.fspath(path)
    with files.atomic_write(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def record_callbacks(plan, record):
    """Callbacks that list in `run.json` the files written outside
    `keras_dg.files`: TensorBoard's event files in `logs/`, at the end of
    every epoch and of training (put them after the standard callbacks)."""
    if not plan.tensorboard:
        return []
    import keras

    logs = os.path.join(plan.out_dir, files.LOGS_DIR)
    before = {
        os.path.join(root, name)
        for root, _, names in os.walk(logs) for name in names
    }

    class RecordLogs(keras.callbacks.Callback):
        def _record(self):
            for root, _, names in os.walk(logs):
                for name in sorted(names):
                    path = os.path.join(root, name)
                    if path not in before:
                        record.record(path)

        def on_epoch_end(self, epoch, logs=None):
            self._record()

        def on_train_end(self, logs=None):
            self._record()

    return [RecordLogs()]


def build_model(plan):
    """The seeded `DoppelGANger` of the plan and its standard callbacks."""
    import keras

    from keras_dg.callbacks import training_callbacks
    from keras_dg.models.doppelganger import DoppelGANger

    train, options = plan.train, plan.options
    keras.utils.set_random_seed(plan.seed)
    model = DoppelGANger(
        train.feature_outputs,
        train.attribute_outputs,
        max_sequence_len=train.max_sequence_len,
        transformer=plan.transformer,
        **plan.config,
    )
    model.check_dataset(train)
    callbacks = training_callbacks(
        plan.out_dir,
        epoch_checkpoint_freq=options["epoch_checkpoint_freq"],
        extra_checkpoint_freq=options["extra_checkpoint_freq"],
        vis_freq=options["vis_freq"],
        vis_num_sample=options["vis_num_sample"],
        real=train if options["vis_num_sample"] else None,
        tensorboard=plan.tensorboard,
        seed=plan.seed,
    )
    return model, callbacks


def train_model(plan, model, callbacks):
    """Compiles and fits `model`; saves `model.keras` and `history.json`.

    With a `time_budget` option, training stops when it is spent (see
    `keras_dg.callbacks.TimeBudget`; `options["epochs"]` is then an upper
    bound) and `plan.options["epochs"]` is set to the epochs that ran.

    Returns `(model_path, seconds)`.
    """
    from keras_dg.callbacks.time_budget import format_duration

    train, options = plan.train, plan.options
    budget = options.get("time_budget")
    if budget is None:
        length = f"for {options['epochs']} epochs"
    else:
        length = f"for {format_duration(budget)} (time budget)"
        if options["epochs"] < UNLIMITED_EPOCHS:
            length += f", at most {options['epochs']} epochs"
    plan.say(
        f"Training DoppelGANger ({settings_name(plan)}"
        f"{', quick' if plan.quick else ''}) on {len(train)} series of "
        f"{train.max_sequence_len} steps {length} "
        f"(batch {options['batch_size']}) -> {plan.out_dir}"
    )
    model.compile()
    batch_size = min(options["batch_size"], len(train))
    select = _selection(plan, model, batch_size)
    started = time.time()
    history = model.fit(
        train,
        epochs=options["epochs"],
        batch_size=batch_size,
        callbacks=([select] if select else []) + callbacks,
        verbose=plan.verbose,
        time_budget=budget,
    )
    seconds = time.time() - started
    if select is not None and select.best_epoch is not None:
        plan.say(
            f"Model selection: kept the weights of epoch "
            f"{select.best_epoch + 1} of {len(history.epoch)} (ACF MSE "
            f"{select.best:.4g} against the training series)"
        )
    if budget is not None:
        options["epochs"] = len(history.epoch)
    model_path = os.path.join(plan.out_dir, files.MODEL_FILE)
    with files.atomic_write(model_path) as tmp:
        model.save(tmp)
    files.atomic_write_json(
        os.path.join(plan.out_dir, files.HISTORY_FILE),
        {k: [float(v) for v in values]
         for k, values in history.history.items()},
    )
    return model_path, seconds


def _selection(plan, model, batch_size):
    """The model selection of the `select_batches` option: a
    `FidelityCallback` that scores the weights about every that many
    batches (whole epochs) by the ACF MSE of generated series against the
    training series, keeps the best and restores them when training ends
    (the test split, the report's reference, is never seen). None when off,
    when the data have no ACF, and under DP-SGD, whose privacy accounting
    does not cover it.

    Measured at 10 minutes of training, 3 seeds (benchmarks/RESULTS.md,
    *model selection and step noise*): FCC_MBA's ACF MSE 0.0048 against
    0.026 with the last weights; flights 0.0074 against 0.0089.
    """
    every = plan.options.get("select_batches")
    if not every or model.dp_noise_multiplier is not None:
        return None
    return selection_callback(plan.train, every, batch_size, seed=plan.seed)


def selection_callback(real, select_batches, batch_size, n_train=None,
                       seed=0):
    """The `FidelityCallback` of model selection on `real` (the ACF MSE of
    as many generated series, at most 1,000), about every `select_batches`
    batches of `batch_size` (whole epochs of `n_train` series, by default
    `real`'s number), or None when `real` has no ACF (no continuous
    feature, too short)."""
    from keras_dg.evaluation import unavailable_metrics
    from keras_dg.evaluation.fidelity_callback import FidelityCallback

    if unavailable_metrics(real, metrics=("acf_mse",)):
        return None
    n_train = len(real) if n_train is None else n_train
    batches_per_epoch = -(-n_train // batch_size)
    return FidelityCallback(
        real,
        every_n_epochs=max(1, round(select_batches / batches_per_epoch)),
        n_samples=min(len(real), 1000),
        metrics=("acf_mse",),
        seed=seed,
        restore_best_weights=True,
    )


def generate(plan, model):
    """Generates `plan.n_generate` series and writes them.

    `generated/` in the original format and, with a transformer,
    `generated/generated.csv` in real units. Returns `(synthetic, paths,
    seconds)` with `paths` the `generated_dir`, `generated_npz` and
    `generated_csv` (or None) of `RunResult`.
    """
    from keras_dg.data.original_format import save_dg

    started = time.time()
    synthetic = model.generate(plan.n_generate, seed=plan.seed)
    extras = {
        k: v for k, v in plan.train.extras.items() if k in _UNIT_EXTRAS
    }
    if extras:
        synthetic = TimeSeriesDataset(
            synthetic.features, synthetic.attributes, synthetic.gen_flag,
            synthetic.feature_outputs, synthetic.attribute_outputs,
            extras=extras, validate=False,
        )
    generated_dir = os.path.join(plan.out_dir, files.GENERATED_DIR)
    # An existing folder: `save_dg` writes each file through
    # `keras_dg.files.atomic_write` (listed in `run.json`, umask modes).
    os.makedirs(generated_dir, exist_ok=True)
    save_dg(synthetic, generated_dir, split=GENERATED_SPLIT)
    paths = {
        "generated_dir": generated_dir,
        "generated_npz": os.path.join(
            generated_dir, f"data_{GENERATED_SPLIT}.npz"
        ),
        "generated_csv": None,
    }
    if plan.transformer is not None:
        paths["generated_csv"] = write_csv(
            plan.transformer.inverse_transform(synthetic),
            os.path.join(generated_dir, files.GENERATED_CSV),
        )
    plan.say(f"Generated {plan.n_generate} series -> {generated_dir}")
    return synthetic, paths, time.time() - started


def report(plan, synthetic, sample_len=None):
    """Writes the fidelity report, if the plan asks for one.

    Returns `(summary, floor, paths, seconds)`: the headline metrics, the
    same metrics of the real training data against the reference (the
    floor; None without a held-out split), and `paths` the `report_html`,
    `report_md` and `metrics` of `RunResult` (None without a report).
    """
    paths = {"report_html": None, "report_md": None, "metrics": None}
    started = time.time()
    if not plan.report:
        return {}, None, paths, time.time() - started
    from keras_dg.evaluation import write_report

    report_dir = os.path.join(plan.out_dir, files.REPORT_DIR)
    plan.say("Evaluating (fidelity report) ...")
    result = write_report(
        plan.reference,
        synthetic,
        report_dir,
        train=plan.held_out_train,
        seed=plan.seed,
        metrics=plan.metrics,
        transformer=plan.transformer,
        sample_len=sample_len,
        title=(
            f"keras-dg fidelity report: {settings_name(plan)}"
            f"{' (quick)' if plan.quick else ''}, "
            f"{'test split' if plan.test is not None else 'training data'} "
            "as reference"
        ),
    )
    paths = {
        "report_html": os.path.join(report_dir, "report.html"),
        "report_md": os.path.join(report_dir, "report.md"),
        "metrics": os.path.join(report_dir, "metrics.json"),
    }
    return (
        result.get("summary", {}), result.get("floor"), paths,
        time.time() - started,
    )
