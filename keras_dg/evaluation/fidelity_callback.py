"""`FidelityCallback`: fidelity metrics in the training logs every N epochs."""

import math

import keras

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.evaluation._utils import check_compatible
from keras_dg.evaluation._utils import check_dataset
from keras_dg.evaluation.metrics import SCALAR_METRICS
from keras_dg.evaluation.metrics import check_metric_names
from keras_dg.evaluation.metrics import evaluate
from keras_dg.evaluation.metrics import unavailable_metrics
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
    `latest`.

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

    Example:

    ```python
    callback = keras_dg.evaluation.FidelityCallback(
        test_set, every_n_epochs=5, metrics=["acf_mse", "attribute_jsd"])
    stop = keras.callbacks.EarlyStopping(
        "val_acf_mse", mode="min", patience=20)
    model.fit(train_set.as_dict(), epochs=200, callbacks=[callback, stop])
    model.history.history["val_acf_mse"]
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
        self.latest = None

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(
                "FidelityCallback needs a model with a `generate(n, seed=...)` "
                "method (such as `keras_dg.DoppelGANger`). Received a "
                f"{type(self.model).__name__}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs != 0:
            return
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
        if logs is None:
            return
        for name in self.metrics:
            value = self.latest["summary"].get(name)
            logs[self.prefix + name] = math.nan if value is None else value
