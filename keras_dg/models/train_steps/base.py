"""The train-step interface: what every backend's `train_step` asks of the
model.

`TrainStepMixin` holds the backend-neutral pieces of a training batch, which
`DoppelGANger` inherits: unpacking and encoding a `fit` batch
(`unpack_batch`, `encode`, `pack_real`, `real_critic_inputs`), the fakes
(`training_fakes`), the critics' rows and jobs (`critic_inputs`,
`critic_jobs`), the generator's loss (`generator_loss_terms`), the
generators' weight average (`update_ema`, which every backend's step calls
after each generator update), the trackers (`update_trackers`) and the
dispatch to the backend's step (`train_step`, see
`keras_dg.models.train_steps.get_train_step`); also `fit` (with its time
budget and model selection on `validation_data`) and the checks of its
in-memory data (`check_dataset`). The modules beside this
one hold only each backend's gradient machinery.
"""

import sys

import keras
import numpy as np
from keras import ops

from keras_dg.dataset import SERIES_RANGE_KEYS
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.models.train_steps import get_train_step
from keras_dg.preprocessing.gen_flag import add_gen_flag
from keras_dg.preprocessing.per_sample_normalization import (
    normalize_per_sample,
)
from keras_dg.specs import output_slices
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int

# The keys of a training batch, in the order of its tuple form (a dict may
# also hold both of `SERIES_RANGE_KEYS`: see `TrainStepMixin.series_range`).
BATCH_KEYS = ("features", "attributes", "gen_flag")
# `fit`'s batch size for in-memory data: the original's.
_DEFAULT_BATCH_SIZE = 100
# Warm start of the weight average: decay k / (k + 10) at update k, until
# it reaches `ema_decay` (TensorFlow's `ExponentialMovingAverage` with
# `num_updates`, shifted by one so that the first update copies).
_EMA_WARMUP = 10.0
# Series generated per evaluation of `fit`'s `validation_data`.
_VALIDATION_SAMPLES = 1000
# Train steps per call of the train function on TensorFlow when `compile`
# was not told: at the MBA shape one step per call trained at 3,800 to
# 6,400 sequences/s from process to process, 8 at 5,200-6,900 (1.91x the
# peer's speed against 1.50x in one run; benchmarks/RESULTS.md). Tracing a
# call of several steps costs about 0.8 s more, so a `fit` of fewer than
# `_MIN_STEPS_FOR_SEVERAL_PER_CALL` steps runs one per call. JAX gains
# nothing from it (its trainer loops over the steps in Python), PyTorch's
# trainer takes only 1.
AUTO_STEPS_PER_EXECUTION = 8
_MIN_STEPS_FOR_SEVERAL_PER_CALL = 100


class TrainStepMixin:
    """The backend-neutral pieces of `DoppelGANger`'s train step (needs its
    layers, specs and `sample_noise`/`generate_internal`)."""

    def train_step(self, *args):
        # TensorFlow and PyTorch call train_step(data); JAX calls
        # train_step(state, data) and expects (logs, state) back.
        backend = keras.config.backend()
        if self.dp_noise_multiplier is not None:
            backend += "_dp"
        return get_train_step(backend)(self, *args)

    @property
    def generator_trainable_variables(self):
        variables = list(self.attribute_generator.trainable_variables)
        if self.fix_feature_network:
            return variables
        if self.addi_generator is not None:
            variables += self.addi_generator.trainable_variables
        return variables + self.feature_generator.trainable_variables


    def encode(self, features, attributes, gen_flag, series_range=None):
        """Real data to the internal encoding the critics see.

        Adds the per-sample min/max attributes (`self_norm`; measured on
        `features`, or `series_range` for windows of longer series) and the
        two generation-flag columns.
        """
        features = ops.cast(features, "float32")
        attributes = ops.cast(attributes, "float32")
        gen_flag = ops.cast(gen_flag, "float32")
        if self.self_norm:
            features, addi = normalize_per_sample(
                features, self.feature_outputs, series_range=series_range
            )
            attributes = ops.concatenate([attributes, addi], axis=-1)
        features = add_gen_flag(features, gen_flag, self.sample_len)
        if self.fix_feature_network:
            return self._retraining_view(features, attributes)
        return features, attributes

    def _retraining_view(self, features, attributes):
        """What the critics see in retraining mode: zeros for the features
        and the min/max attributes (the original's intended masks)."""
        mask = ops.concatenate(
            [
                ops.ones((self.real_attribute_dim,), attributes.dtype),
                ops.zeros((self.addi_attribute_dim,), attributes.dtype),
            ],
            axis=0,
        )
        return ops.zeros_like(features), attributes * mask

    def training_fakes(self, noise):
        """Fake (features, attributes) for the critics during training, in
        the internal encoding (retraining masks applied)."""
        if self.fix_feature_network:
            # Only the attribute MLP trains; the critics see zeros for the
            # rest, so the fixed generators need not run.
            soft_real, _ = self.attribute_generator(
                noise["attribute_noise"], training=True
            )
            batch_size = ops.shape(soft_real)[0]
            features = ops.zeros(
                (batch_size, self.max_sequence_len, self.internal_feature_dim)
            )
            addi = ops.zeros((batch_size, self.addi_attribute_dim))
            return features, ops.concatenate([soft_real, addi], axis=-1)
        features, attributes, _, _ = self.generate_internal(
            noise, training=True
        )
        return features, attributes

    def unpack_batch(self, data):
        """(features, attributes, gen_flag) of one batch from `fit`."""
        if isinstance(data, dict):
            missing = [k for k in BATCH_KEYS if k not in data]
            if missing:
                raise ValueError(
                    f"Training batches must hold the keys {list(BATCH_KEYS)};"
                    f" missing {missing}. Received keys {sorted(data)}."
                )
            return tuple(data[k] for k in BATCH_KEYS)
        if isinstance(data, (list, tuple)):
            if len(data) == 1:
                return self.unpack_batch(data[0])
            if len(data) == 3:
                return tuple(data)
        raise ValueError(
            "Training batches must be a dict with keys features, attributes,"
            " gen_flag or a tuple (features, attributes, gen_flag). Received:"
            f" {type(data).__name__}."
        )

    def series_range(self, data):
        """`(series_min, series_max)` of a `fit` batch that holds them
        (windows of longer series, `TimeSeriesDataset.windows`), else None.
        """
        if not isinstance(data, dict):
            return None
        present = [k for k in SERIES_RANGE_KEYS if k in data]
        if not present:
            return None
        if len(present) == 1:
            raise ValueError(
                f"Training batches hold {present[0]!r} without its partner:"
                f" pass both of {list(SERIES_RANGE_KEYS)} or neither."
            )
        return tuple(data[k] for k in SERIES_RANGE_KEYS)

    def pack_real(self, features, attributes):
        """P pack members of the real batch: the batch, then P - 1 random
        permutations of it (see the README's deviations)."""
        if self.num_packing == 1:
            return features, attributes
        batch_size = ops.shape(features)[0]
        order = ops.arange(batch_size)
        index = [order] + [
            keras.random.shuffle(order, seed=self.seed_generator)
            for _ in range(self.num_packing - 1)
        ]
        index = ops.concatenate(index, axis=0)
        return ops.take(features, index, axis=0), ops.take(
            attributes, index, axis=0
        )


    def critic_inputs(self, features, attributes):
        """Packed float32 rows per critic (`"critic"`, and
        `"attribute_critic"` with `aux_disc`) for internal-encoding
        features and attributes (under mixed precision the fakes come in the
        compute dtype; the critics always see float32)."""
        features = ops.cast(features, "float32")
        attributes = ops.cast(attributes, "float32")
        rows = {"critic": self.critic.pack_inputs([features, attributes])}
        if self.aux_disc:
            rows["attribute_critic"] = self.attribute_critic.pack_inputs(
                attributes
            )
        return rows

    def real_critic_inputs(self, data):
        """`(rows per critic, number of unpacked rows)` of a `fit` batch:
        unpacked, encoded, packed (`pack_real`)."""
        features, attributes, gen_flag = self.unpack_batch(data)
        features, attributes = self.pack_real(
            *self.encode(
                features, attributes, gen_flag, self.series_range(data)
            )
        )
        return self.critic_inputs(features, attributes), ops.shape(features)[0]

    def critic_jobs(self):
        """One round's critics: `(tracker prefix, rows key, critic,
        optimizer, gradient-penalty weight)` for the main critic and, with
        `aux_disc`, the attribute critic."""
        jobs = [("d_loss", "critic", self.critic, self.d_optimizer,
                 self.d_gp_coe)]
        if self.aux_disc:
            jobs.append(
                ("attr_d_loss", "attribute_critic", self.attribute_critic,
                 self.attr_d_optimizer, self.attr_d_gp_coe)
            )
        return jobs

    def critic_rounds(self, real, fake_features, fake_attributes, step):
        """One round of every critic of `critic_jobs`: `step(critic,
        optimizer, real rows, fake rows, penalty weight, seed generator)`
        is the backend's WGAN-GP update, returning its loss terms, which go
        to the trackers. `real` is `real_critic_inputs`' rows; the fakes
        come in the internal encoding, cut from the generator's graph by
        the caller (each backend its own way)."""
        fake = self.critic_inputs(fake_features, fake_attributes)
        for prefix, key, critic, optimizer, weight in self.critic_jobs():
            terms = step(
                critic, optimizer, real[key], fake[key], weight,
                self.seed_generator,
            )
            self.update_trackers(prefix, terms)

    def generator_loss_terms(self, fake_features, fake_attributes):
        """The generator's loss on fakes: `-mean D(fake)` plus, with
        `aux_disc`, `g_attr_d_coe * -mean D_attr(fake attributes)`."""
        g_loss_d = -ops.mean(self.critic([fake_features, fake_attributes]))
        terms = {"loss": g_loss_d, "d": g_loss_d}
        if self.aux_disc:
            g_loss_attr_d = -ops.mean(self.attribute_critic(fake_attributes))
            terms["attr_d"] = g_loss_attr_d
            terms["loss"] = g_loss_d + self.g_attr_d_coe * g_loss_attr_d
        return terms

    def update_ema(self):
        """Moves the generators' weight average (`ema_variables`) towards
        their current weights; the backends' steps call it after every
        generator update. The decay is warm-started: `min(ema_decay,
        k / (k + 10))` at update k (0 first, which copies the weights).
        Plain `keras.ops` and `assign`, so it runs in a `tf.function`, in
        JAX's stateless scope and under `torch.no_grad()` alike."""
        if self.ema_decay is None:
            return
        updates = ops.convert_to_tensor(self.ema_updates)
        decay = ops.minimum(
            ops.convert_to_tensor(self.ema_decay, "float32"),
            updates / (updates + _EMA_WARMUP),
        )
        for average, variable in zip(self.ema_variables, self.ema_sources):
            value = ops.cast(variable, average.dtype)
            average.assign(value + decay * (average - value))
        self.ema_updates.assign(updates + 1.0)

    def update_trackers(self, prefix, terms):
        """Adds a round's loss terms to the `Mean` trackers."""
        self.loss_trackers[prefix].update_state(terms["loss"])
        for key, value in terms.items():
            if key != "loss":
                self.loss_trackers[f"{prefix}_{key}"].update_state(value)

    # --- Training data ------------------------------------------------------

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        time_budget=None,
        validation_data=None,
        calibrate_missing=True,
        **kwargs,
    ):
        """Trains the model (`keras.Model.fit`).

        `x` is a `TimeSeriesDataset`, a dict of arrays with keys
        `features` [N, T, F], `attributes` [N, A] and `gen_flag` [N, T], a
        tuple of those three arrays, a features array with `y` the
        attributes (all series then full length), or a `tf.data.Dataset` /
        `keras.utils.PyDataset` yielding such dicts or tuples (batched by
        you; not validated up front), or a `keras_dg.data.ParquetSeries`
        (`from_parquet`: series read from disk in shuffled batches of
        `batch_size`, seeded by the model's `seed`). In-memory data are
        validated against the model's specs before training starts.
        `batch_size` defaults to 100, the original's. A fresh model's first
        `fit` starts each missingness channel (`Output.is_missing_channel`)
        at the data's missing rate (see `_init_missing_channels`; a
        `ParquetSeries`: its pass's sample of series).

        Args:
            time_budget: float, str or None. Stop training once this much
                wall-clock time is spent (seconds, or `"90s"`, `"10m"`,
                `"1h"`): appends a `keras_dg.callbacks.TimeBudget`. Without
                `epochs` (or with `epochs=None`), training runs until the
                budget ends it (`keras_dg.callbacks.UNLIMITED_EPOCHS`
                epochs); with both, whichever ends first. Defaults to None.
            validation_data: `TimeSeriesDataset` or None. Held-out real
                series, for model selection: a
                `keras_dg.evaluation.FidelityCallback` is put first in the
                callbacks, which generates as many series (at most 1,000)
                every `validation_freq` epochs (Keras' argument; default 1),
                logs `val_acf_mse`, keeps the weights (weight average
                included) of the epoch with the lowest value and restores
                them at the end of training. A GAN has no validation loss:
                other forms are refused (and so is `validation_split`);
                for other metrics or schedules add the callback yourself.
                Defaults to None.
            calibrate_missing: bool. After training on in-memory data or
                a `ParquetSeries` (its pass's sample of 1,000 series), fit
                how `generate` draws the missingness channels to the
                training data (`calibrate_missing_draws`: their missing
                rate, gap lengths and share of series with gaps). Not under
                DP-SGD (`dp_noise_multiplier`), whose privacy accounting
                does not cover it, nor with `fix_feature_network`.
                Defaults to True.
            **kwargs: the other `keras.Model.fit` arguments.
        """
        if kwargs.get("validation_split"):
            raise ValueError(
                "`validation_split` is not supported by DoppelGANger.fit (a "
                "GAN has no validation loss to report); pass held-out "
                "series as `validation_data=` (a TimeSeriesDataset) for "
                "model selection by fidelity."
            )
        callbacks = list(kwargs.pop("callbacks", None) or [])
        validation_freq = kwargs.pop("validation_freq", 1)
        if validation_data is not None:
            callbacks.insert(
                0, self._validation_callback(validation_data, validation_freq)
            )
        if time_budget is not None:
            from keras_dg.callbacks.time_budget import UNLIMITED_EPOCHS
            from keras_dg.callbacks.time_budget import TimeBudget
            from keras_dg.callbacks.time_budget import parse_duration

            callbacks.append(
                TimeBudget(parse_duration(time_budget, "time_budget"))
            )
            if kwargs.get("epochs") is None:
                kwargs["epochs"] = UNLIMITED_EPOCHS
        if not self.compiled:
            raise RuntimeError("Call `compile()` before `fit()`.")
        calibrate_missing = check_bool(calibrate_missing, "calibrate_missing")
        calibration_data = None
        if _is_parquet_series(x):
            # Series on disk (keras_dg.data.from_parquet): the settings from
            # its streaming pass, batches read and shuffled by its pipeline.
            x.apply_settings(self)
            calibration_data = x.settings_data()
            x = x.training_data(
                batch_size or _DEFAULT_BATCH_SIZE,
                seed=0 if self.seed is None else self.seed,
            )
            batch_size = None
        x, in_memory = self._training_inputs(x, y)
        if in_memory:
            self._settings_from_data(x)
            calibration_data = x
        if in_memory and batch_size is None:
            batch_size = min(_DEFAULT_BATCH_SIZE, len(x["features"]))
        if not in_memory:
            # Pipelines shuffle themselves; Keras would warn otherwise.
            kwargs.setdefault("shuffle", False)
        self._pick_steps_per_execution(
            _planned_steps(x if in_memory else None, batch_size, kwargs)
        )
        history = super().fit(
            x, batch_size=batch_size, callbacks=callbacks, **kwargs
        )
        if (
            calibrate_missing
            and calibration_data is not None
            and self.missing_channel_count
            and self.dp_noise_multiplier is None
            and not self.fix_feature_network
        ):
            self.calibrate_missing_draws(
                calibration_data, seed=0 if self.seed is None else self.seed
            )
        return history

    def _pick_steps_per_execution(self, steps):
        """Train steps per call for a `fit` of `steps` steps (None:
        unknown) when `compile` left the choice to keras-dg (see
        `AUTO_STEPS_PER_EXECUTION`); a new value rebuilds the train
        function."""
        if self._given_steps_per_execution is not None:
            return
        value = auto_steps_per_execution(steps)
        if value != self.steps_per_execution:
            self.steps_per_execution = value
            self.train_function = None

    def _validation_callback(self, validation_data, validation_freq):
        """`fit`'s model selection on `validation_data` (see `fit`)."""
        if not isinstance(validation_data, TimeSeriesDataset):
            raise ValueError(
                "`validation_data` must be a keras_dg.TimeSeriesDataset of "
                "held-out real series (a GAN has no validation loss; fit "
                "selects the weights by their fidelity to these series). "
                f"Received: {type(validation_data).__name__}."
            )
        validation_freq = check_positive_int(
            validation_freq, "validation_freq"
        )
        self.check_dataset(validation_data)
        from keras_dg.evaluation.fidelity_callback import FidelityCallback

        return FidelityCallback(
            validation_data,
            every_n_epochs=validation_freq,
            n_samples=min(len(validation_data), _VALIDATION_SAMPLES),
            metrics=("acf_mse",),
            restore_best_weights=True,
        )

    def _settings_from_data(self, x):
        """What `full_length=None`, `block_heads="auto"`,
        `step_noise_outputs="auto"`, `interpolate="auto"`,
        `feature_noise="auto"` and `snap_to_grid` leave to the training
        data (in-memory arrays `x`, or `ParquetSeries.settings_data`: a
        sample of series and the whole pass's `full_length`), decided anew
        by every `fit`; and, at a fresh model's first `fit`, where its
        missingness channels start (`_init_missing_channels`)."""
        self._init_missing_channels(x)
        if self.full_length is None:
            full_length = x.get("full_length")  # Parquet: the whole pass's.
            if full_length is None:
                full_length = np.all(np.asarray(x["gen_flag"]) == 1)
            self.full_length_state.assign(float(full_length))
        if self.block_heads == "auto" and self.sample_len > 1:
            from keras_dg.evaluation.autocorrelation import output_periods

            periods = output_periods(
                x["features"], self.feature_outputs, self.sample_len
            )  # In output order.
            self.feature_generator.set_periodic_outputs(
                list(periods), list(periods.values())
            )
        noise_auto = self.step_noise_outputs == "auto" and self.step_noise_dim
        hold_auto = self.noise and self.feature_noise == "auto"
        if noise_auto or hold_auto or self.interpolate == "auto":
            from keras_dg.evaluation.autocorrelation import smooth_outputs

            smooth = smooth_outputs(
                x["features"], x["gen_flag"], self.feature_outputs
            )
            outputs = range(len(self.feature_outputs))
            if noise_auto:
                self.feature_generator.set_step_noise_outputs(
                    [i for i in outputs if i not in smooth]
                )
            if hold_auto:
                self.feature_generator.set_series_noise(
                    all(i in smooth for i in outputs)
                )
            if self.interpolate == "auto":
                self.feature_generator.set_smooth_outputs(smooth)
        if self.feature_grid is not None:
            from keras_dg.models.value_grid import find_grids

            self.feature_grid.assign(find_grids(
                x["features"], x["gen_flag"], self.feature_outputs
            ))

    def _init_missing_channels(self, x):
        """Starts each missingness channel at the training data's missing
        rate r: the channel's columns of the feature generator's heads (and
        of its per-step noise projection) get zero weights and the bias
        `(0, log(r / (1 - r)))`, so every step's softmax is `(1 - r, r)`.

        Only once, on a fresh model (`_channels_fresh`: not loaded, no
        weights set, no generator update yet) and not in retraining
        (`fix_feature_network`). From the default initialization (p about
        0.5 against r = 0.024 on flights) the channel was pushed down past
        the rate into the softmax's flat tail (p about 0.002) within the
        first epochs in 2 of 3 seeds (benchmarks/RESULTS.md).
        """
        if not (
            self.missing_channel_count
            and getattr(self, "_channels_fresh", False)
            and not self.fix_feature_network
        ):
            return
        self._channels_fresh = False
        if int(ops.convert_to_numpy(self.g_optimizer.iterations)):
            return
        features = np.asarray(x["features"])
        active = np.asarray(x["gen_flag"]) > 0.5
        generator = self.feature_generator
        # Each channel's columns (present, missing) and its log-odds.
        rates = {}
        for output, start, _ in output_slices(self.feature_outputs):
            if output.is_missing_channel:
                rate = float(np.clip(
                    features[..., start + 1][active].mean(), 1e-4, 1 - 1e-4
                ))
                rates[start] = np.log(rate / (1.0 - rate))
        heads = [generator.heads] + (
            [generator.position_heads] if generator.position_heads else []
        )
        kernels = [layer.kernel for layer in heads]
        if generator.step_noise_dim:
            kernels.append(generator.step_noise_kernel)
        for kernel in kernels:
            value = np.array(ops.convert_to_numpy(kernel))
            columns = np.arange(value.shape[-1]) % generator.step_dim
            for start in rates:
                value[:, (columns == start) | (columns == start + 1)] = 0.0
            kernel.assign(value)
        for layer in heads:
            bias = np.array(ops.convert_to_numpy(layer.bias))
            columns = np.arange(len(bias)) % generator.step_dim
            for start, log_odds in rates.items():
                bias[columns == start] = 0.0
                bias[columns == start + 1] = log_odds
            layer.bias.assign(bias)

    def _training_inputs(self, x, y):
        """Validates in-memory training data; returns (x, in_memory)."""
        if isinstance(x, TimeSeriesDataset):
            if y is not None:
                raise ValueError("`y` must be None when `x` is a dataset.")
            self.check_dataset(x)
            return x.as_dict(), True
        if isinstance(x, dict):
            if y is not None:
                raise ValueError("`y` must be None when `x` is a dict.")
            missing = [k for k in BATCH_KEYS if k not in x]
            extra = sorted(set(x) - set(BATCH_KEYS) - set(SERIES_RANGE_KEYS))
            if missing or extra:
                raise ValueError(
                    f"`x` must hold exactly the keys {list(BATCH_KEYS)} "
                    f"(and optionally both of {list(SERIES_RANGE_KEYS)}); "
                    f"missing {missing}, unexpected {extra}."
                )
            arrays = [x[k] for k in BATCH_KEYS]
            series_range = self.series_range(x)
        elif isinstance(x, (list, tuple)) and len(x) == 3 and y is None:
            arrays, series_range = list(x), None
        elif isinstance(x, np.ndarray):
            if y is None:
                raise ValueError(
                    "A features array needs the attributes as `y` (or pass a"
                    " dict with features, attributes and gen_flag)."
                )
            features = np.asarray(x)
            arrays = [x, y, np.ones(features.shape[:2], "float32")]
            series_range = None
        else:
            if y is not None:
                raise ValueError("`y` must be None for this kind of `x`.")
            return x, False
        extras = {} if series_range is None else dict(
            zip(SERIES_RANGE_KEYS, series_range)
        )
        if not all(
            isinstance(a, (np.ndarray, list)) or hasattr(a, "__array__")
            for a in arrays
        ):
            return {**dict(zip(BATCH_KEYS, arrays)), **extras}, False
        dataset = TimeSeriesDataset(
            *arrays, self.feature_outputs, self.attribute_outputs,
            extras=extras,
        )
        self.check_dataset(dataset)
        return dataset.as_dict(), True

    def check_dataset(self, dataset):
        """Raises `ValueError` unless `dataset` matches the model's specs."""
        if dataset.feature_outputs != self.feature_outputs:
            raise ValueError(
                f"The dataset's feature_outputs {dataset.feature_outputs} "
                f"differ from the model's {self.feature_outputs}."
            )
        if dataset.attribute_outputs != self.attribute_outputs:
            raise ValueError(
                f"The dataset's attribute_outputs {dataset.attribute_outputs} "
                f"differ from the model's {self.attribute_outputs}."
            )
        if dataset.max_sequence_len != self.max_sequence_len:
            raise ValueError(
                f"The dataset's series have {dataset.max_sequence_len} time "
                f"steps but the model's max_sequence_len is "
                f"{self.max_sequence_len}."
            )
        dataset.validate()
        _check_series_range(dataset)


def _check_series_range(dataset):
    """Raises `ValueError` unless the dataset's `series_min`/`series_max`
    (when it has them) are [N, F] and hold every value of their series."""
    if not any(k in dataset.extras for k in SERIES_RANGE_KEYS):
        return
    missing = [k for k in SERIES_RANGE_KEYS if k not in dataset.extras]
    if missing:
        raise ValueError(
            f"The training data lack {missing}: pass both of "
            f"{list(SERIES_RANGE_KEYS)} or neither."
        )
    lowest, highest = (
        np.asarray(dataset.extras[k], "float32") for k in SERIES_RANGE_KEYS
    )
    expected = (len(dataset), dataset.features.shape[-1])
    for name, bound in zip(SERIES_RANGE_KEYS, (lowest, highest)):
        if bound.shape != expected:
            raise ValueError(
                f"`{name}` must have shape {expected} (series, feature "
                f"columns); received shape {bound.shape}."
            )
    tolerance = 1e-5
    outside = (dataset.features.min(axis=1) < lowest - tolerance) | (
        dataset.features.max(axis=1) > highest + tolerance
    )
    if outside.any():
        row, column = np.argwhere(outside)[0]
        raise ValueError(
            f"Series {row}'s feature column {column} has values outside its"
            f" [series_min, series_max] = [{lowest[row, column]}, "
            f"{highest[row, column]}]: the range must be that of the whole "
            "series the window came from (`TimeSeriesDataset.windows`)."
        )


def _is_parquet_series(x):
    """Whether `x` is a `keras_dg.data.ParquetSeries` (without importing
    pyarrow when it was never used)."""
    module = sys.modules.get("keras_dg.data.parquet_series")
    return module is not None and isinstance(x, module.ParquetSeries)


def auto_steps_per_execution(steps=None):
    """The train steps per call that keras-dg picks for a `fit` of `steps`
    steps (None: unknown) on this backend: on TensorFlow
    `AUTO_STEPS_PER_EXECUTION` unless the fit runs fewer than
    `_MIN_STEPS_FOR_SEVERAL_PER_CALL` steps, else 1."""
    if keras.config.backend() != "tensorflow" or (
        steps is not None and steps < _MIN_STEPS_FOR_SEVERAL_PER_CALL
    ):
        return 1
    return AUTO_STEPS_PER_EXECUTION


def _planned_steps(x, batch_size, fit_kwargs):
    """The train steps a `fit` with these arguments runs at most: its
    epochs times the steps of one (`steps_per_epoch`, or in-memory data
    `x` in batches of `batch_size`); None when unknown (a pipeline)."""
    epochs = fit_kwargs.get("epochs", 1)
    per_epoch = fit_kwargs.get("steps_per_epoch")
    if per_epoch is None and x is not None:
        per_epoch = -(-len(x["features"]) // batch_size)
    if per_epoch is None or epochs is None:
        return None
    return max(epochs - fit_kwargs.get("initial_epoch", 0), 0) * per_epoch
