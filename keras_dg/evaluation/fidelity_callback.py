"""`FidelityCallback`: fidelity metrics in the training logs every N epochs,
and model selection by them."""

import math

import keras

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.evaluation._utils import check_compatible
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation.metrics import SCALAR_METRICS
from keras_dg.evaluation.metrics import check_metric_names
from keras_dg.evaluation.metrics import evaluate
from keras_dg.evaluation.metrics import unavailable_metrics
from keras_dg.validation import check_bool
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed


class FidelityCallback(keras.callbacks.Callback):
    """Generates series every N epochs and logs fidelity metrics.

    At the end of every `every_n_epochs`-th epoch the callback calls
    `self.model.generate(n_samples, seed=seed)`, compares the result with
    the held-out `real` series using `keras_dg.evaluation.evaluate`, and
    writes each chosen metric as a float into the epoch's `logs` under
    `prefix + name` (for example `logs["val_acf_mse"]`). `History`,
    `TensorBoard`, `EarlyStopping`, `ModelCheckpoint` and KerasTuner read
    the same `logs` dict, so they see these values, provided this callback
    comes *before* them in the `callbacks` list (Keras calls callbacks in
    order; `History` is always last). On the other epochs the keys are
    absent. A metric that is undefined for the generated data (for example
    a rank correlation of tied scores) is logged as NaN. The same `seed` is
    used at every evaluation, so changes between epochs come from the model,
    not the noise. The full result of the last evaluation is kept in
    `latest`. With `restore_best_weights`, the callback also selects the
    model: it keeps the weights of the best evaluation (`best`,
    `best_epoch`, `best_weights`) and puts them back when training ends,
    including the generators' weight average that `generate` uses.

    Lower is better for all metrics except `tstr_accuracy`, `tstr_r2` and
    the two `*_spearman` ones. Keras cannot infer that from the names: pass
    `mode="min"` (or `"max"`) to `EarlyStopping` and `ModelCheckpoint`, and
    a `keras_tuner.Objective("val_acf_mse", direction="min")` to KerasTuner.

    Args:
        real: `TimeSeriesDataset`. Held-out real series in the encoded
            space, with the model's specs and `max_sequence_len`.
        every_n_epochs: int. Evaluate after every N-th epoch (epochs N, 2N,
            ...). Defaults to 1.
        n_samples: int or `None`. Series to generate per evaluation.
            Defaults to `None` (as many as `real` has).
        metrics: list of names from
            `keras_dg.evaluation.SCALAR_METRICS` (`acf_mse`,
            `attribute_jsd`, `joint_attribute_jsd`, `length_w1`,
            `midpoint_w1`, `cross_correlation_w1`, `conditional_w1`,
            `tstr_accuracy`, `tstr_accuracy_spearman`, `tstr_r2`,
            `tstr_r2_spearman`, `discriminative_score`, and with `train`
            `memorization_median_ratio`, `membership_inference_success`).
            Defaults to `("acf_mse", "attribute_jsd", "length_w1")`.
        seed: int. Seed for `generate` and for the metrics. Defaults to 0.
        prefix: str. Prepended to every log key. Defaults to `"val_"`.
        train: `TimeSeriesDataset` or `None`. The training series, for the
            memorization metrics and TSTR. Defaults to `None`.
        restore_best_weights: bool. Model selection: after every
            evaluation, keep a copy of all the model's weights (generators
            with their weight average, critics) when `monitor` improved, and
            restore the best copy at the end of training (the optimizers'
            state is not restored). If the last epoch was not evaluated,
            it is evaluated at the end of training first, so the final
            weights compete too. `DoppelGANger.fit(...,
            validation_data=heldout)` adds such a callback. Defaults to
            False.
        monitor: str or `None`. The metric that selects the weights (one of
            `metrics`). Defaults to `None` (the first of `metrics`).
        mode: `"auto"`, `"min"` or `"max"`. Whether lower or higher values
            of `monitor` are better; `"auto"` takes higher for the TSTR
            scores (`tstr_*`) and lower for the others. Defaults to
            `"auto"`.

    Example:

    ```python
    callback = keras_dg.evaluation.FidelityCallback(
        test_set, every_n_epochs=5, metrics=["acf_mse", "attribute_jsd"])
    stop = keras.callbacks.EarlyStopping(
        "val_acf_mse", mode="min", patience=20)
    model.fit(train_set.as_dict(), epochs=200, callbacks=[callback, stop])
    model.history.history["val_acf_mse"]
    ```

    Model selection (keep the epoch with the best held-out ACF):

    ```python
    select = keras_dg.evaluation.FidelityCallback(
        test_set, every_n_epochs=5, metrics=["acf_mse"],
        restore_best_weights=True)
    model.fit(train_set, epochs=200, callbacks=[select])
    select.best_epoch, select.best
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020, §5 (the metrics).
    """

    def __init__(
        self,
        real,
        every_n_epochs=1,
        n_samples=None,
        metrics=("acf_mse", "attribute_jsd", "length_w1"),
        seed=0,
        prefix="val_",
        train=None,
        restore_best_weights=False,
        monitor=None,
        mode="auto",
    ):
        super().__init__()
        check_dataset(real, "real")
        if train is not None:
            check_dataset(train, "train")
            check_compatible(real, train, "real", "train")
        self.real = real
        self.train = train
        self.every_n_epochs = check_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.n_samples = (
            len(real)
            if n_samples is None
            else check_positive_int(n_samples, "n_samples")
        )
        metrics = check_metric_names(metrics, SCALAR_METRICS)
        reasons = unavailable_metrics(real, train=train, metrics=metrics)
        if reasons:
            group, reason = next(iter(reasons.items()))
            names = [n for n in metrics if SCALAR_METRICS[n][0] == group]
            raise ValueError(
                f"`metrics` {names} cannot be computed for `real`: {reason}."
            )
        self.metrics = metrics
        self.seed = check_seed(seed)
        if not isinstance(prefix, str):
            raise ValueError(
                f"`prefix` must be a string. Received: prefix={prefix!r}"
            )
        self.prefix = prefix
        self.restore_best_weights = check_bool(
            restore_best_weights, "restore_best_weights"
        )
        self.monitor = check_one_of(
            metrics[0] if monitor is None else monitor, "monitor", metrics
        )
        mode = check_one_of(mode, "mode", ["auto", "min", "max"])
        if mode == "auto":
            mode = "max" if self.monitor.startswith("tstr_") else "min"
        self.mode = mode
        self.latest = None
        self._reset_selection()

    def _reset_selection(self):
        self.best = None
        self.best_epoch = None
        self.best_weights = None
        self._last_epoch = None
        self._evaluated_epoch = None

    def _improved(self, value):
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_train_begin(self, logs=None):
        self._reset_selection()
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(
                "FidelityCallback needs a model with a `generate(n, seed=...)` "
                "method (such as `keras_dg.DoppelGANger`). Received a "
                f"{type(self.model).__name__}."
            )

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if (epoch + 1) % self.every_n_epochs != 0:
            return
        self._evaluate(epoch, logs)

    def on_train_end(self, logs=None):
        if not self.restore_best_weights or self._last_epoch is None:
            return
        if self._evaluated_epoch != self._last_epoch:
            self._evaluate(self._last_epoch, None)
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def _evaluate(self, epoch, logs):
        """Generates, evaluates, logs, and keeps the weights if best."""
        self._evaluated_epoch = epoch
        synthetic = self.model.generate(self.n_samples, seed=self.seed)
        if not isinstance(synthetic, TimeSeriesDataset):
            raise ValueError(
                "`model.generate` must return a `TimeSeriesDataset`. "
                f"Received a {type(synthetic).__name__}."
            )
        self.latest = evaluate(
            self.real,
            synthetic,
            train=self.train,
            seed=self.seed,
            metrics=self.metrics,
        )
        summary = self.latest["summary"]
        if self.restore_best_weights:
            value = summary.get(self.monitor)
            if self._improved(value):
                self.best = float(value)
                self.best_epoch = epoch
                self.best_weights = self.model.get_weights()
        if logs is None:
            return
        for name in self.metrics:
            value = summary.get(name)
            logs[self.prefix + name] = math.nan if value is None else value
