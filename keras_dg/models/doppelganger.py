"""The DoppelGANger model: its layers, forward pass, compile and config.

Generation (`generate`, `decode`, ...) lives in `generation.py` and the
train step's backend-neutral pieces in `train_steps/base.py`; the model
inherits both. Hyperparameter defaults live in `config.py`.
"""

import keras
import numpy as np
from keras import ops

from keras_dg.layers.attribute_generator import AttributeGenerator
from keras_dg.layers.batched_lstm_generator import BatchedLSTMGenerator
from keras_dg.layers.packed_critic import PackedCritic
from keras_dg.models.config import DEFAULTS
from keras_dg.models.config import PAPER
from keras_dg.models.config import check_hyperparameters
from keras_dg.models.generation import MISSING_LEVEL
from keras_dg.models.generation import MISSING_UNIFORM
from keras_dg.models.generation import GenerationMixin
from keras_dg.models.streaming import StreamingMixin
from keras_dg.models.train_steps.base import auto_steps_per_execution
from keras_dg.models.train_steps.base import TrainStepMixin
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.preprocessing.per_sample_normalization import addi_outputs
from keras_dg.specs import Output
from keras_dg.specs import outputs_from_config
from keras_dg.specs import outputs_to_config
from keras_dg.specs import total_dim
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int

# Variable paths routed to each critic's optimizer; everything else is the
# generator's (both attribute MLPs, the LSTM, its heads, BN and state).
_CRITIC_PATTERN = "(.*/)?critic/.*"
_ATTRIBUTE_CRITIC_PATTERN = "(.*/)?attribute_critic/.*"
# The feature generator's settings that `fit` takes from the data: not
# weights, so the weight average leaves them out.
_SETTING_VARIABLES = (
    "position_mask", "step_noise_mask", "smooth_mask", "series_noise",
)


class _PresetsWithWeights:
    """`DoppelGANger.presets`: {name: metadata} of the built-in presets
    that ship weights (a class attribute, as keras-hub's)."""

    def __get__(self, instance, owner):
        from keras_dg.presets.preset_io import presets_with_weights

        return presets_with_weights()


@keras.saving.register_keras_serializable(package="keras_dg")
class DoppelGANger(
    GenerationMixin, StreamingMixin, TrainStepMixin, keras.Model
):
    """DoppelGANger: a GAN for time series with metadata.

    An MLP (`AttributeGenerator`) generates each series' attributes; with
    `self_norm` a second MLP generates each series' per-feature midpoint and
    half-range conditioned on them; a batched LSTM (`BatchedLSTMGenerator`)
    generates the series `sample_len` steps per cell, conditioned on both,
    until its generation flag ends the series. A WGAN-GP critic
    (`PackedCritic`, with PacGAN packing) scores features and attributes
    together; with `aux_disc` an auxiliary critic scores the attributes
    alone. Train with `fit`, sample with `generate`.

    The hyperparameters keep the original code's names and defaults
    (ALGORITHM §5; each default once, in `keras_dg.models.config.DEFAULTS`):
    batch size 100 (`fit`'s default here), one critic and one generator
    round per batch, GP weight 10, Adam(1e-3, beta_1=0.5, epsilon=1e-8) for
    all three networks. Where the defaults depart from the original on
    purpose (the feature generator's block heads and per-step noise,
    `full_length`), `keras_dg.models.config.PAPER` holds the original's
    values: `DoppelGANger(..., **PAPER)` is the original's model.

    Data go in encoded as in the original format (continuous columns scaled
    to [0, 1] or [-1, 1], discrete columns one-hot, zeros after each series'
    end, a 0/1 `gen_flag`); the model adds the generation-flag columns and the
    per-sample normalization itself, on every batch.

    Args:
        feature_outputs: list of `Output` (or dicts). The feature columns.
        attribute_outputs: list of `Output` (or dicts). The attribute columns;
            may be empty (series without metadata).
        max_sequence_len: int. T, the (padded) series length.
        sample_len: int. S, time steps emitted per LSTM step; divides T.
        aux_disc: bool. Use the auxiliary attribute critic. Defaults to True.
        self_norm: bool. Auto-normalize each series and generate its
            min/max as extra attributes. Defaults to True.
        num_packing: int. PacGAN degree. Defaults to 1.
        noise: bool. Per-LSTM-step noise. Defaults to True.
        feature_noise: `"auto"`, `"step"` or `"series"`: how the LSTM
            steps' noise is drawn. `"step"` (the original) draws it anew at
            every step, which makes a slow, smooth curve wobble from step to
            step (with `sample_len=1`, every time step); `"series"` draws
            it once per series and holds it, so a series' course comes from
            its attributes, its initial state and that draw. `"auto"` lets
            `fit` hold it when every feature output of the training data is
            a smooth continuous one (`keras_dg.evaluation.smooth_features`;
            a saved weight of the generator, `series_noise`), where the
            step noise is off too (`step_noise_outputs`), and draw it per
            step otherwise. Only with `noise`. Defaults to `"auto"`.
        feed_back: bool. Feed previous outputs back. Defaults to False.
        initial_state: str. LSTM initial state: "random", "zero" or
            "variable". Defaults to "random".
        initial_stddev: float. Std of the learned initial state. 0.02.
        output_margin: float >= 0. The generators' continuous outputs in
            the data's units (attributes, the `self_norm` min/max, and the
            features without `self_norm`) are stretched by this fraction of
            their range beyond both ends and clipped to it, so that they can
            take the bounds exactly: `clip((1 + 2 m) sigmoid(x) - m, 0, 1)`
            (gradients pass the clip). A sigmoid reaches 0 only at minus
            infinity, so without it a series that is exactly 0 (77% of
            FCC_MBA's ping-loss series) comes back as small noise. 0 is the
            original's plain sigmoid and tanh (a documented deviation, see
            the README). Defaults to 0.01.
        d_rounds: int. Critic rounds per batch. Defaults to 1.
        g_rounds: int. Generator rounds per batch. Defaults to 1.
        shared_noise: bool. Draw the generator noise once per batch and
            share it across all critic and generator rounds, as the
            original does; the generator then runs forward once per batch
            (the fakes of the critic rounds are reused by the first
            generator round). `False` draws fresh noise, hence fresh fakes,
            for every round (one more generator forward pass per round).
            Defaults to True.
        d_gp_coe: float. Critic gradient-penalty weight. Defaults to 10.
        attr_d_gp_coe: float. Auxiliary critic GP weight. Defaults to 10.
        g_attr_d_coe: float. Weight of the auxiliary critic in the generator
            loss. Defaults to 1.
        g_lr, d_lr, attr_d_lr: float. Adam learning rates. Default 1e-3.
        beta1: float. Adam beta_1 of the three optimizers. Defaults to 0.5.
        beta2: float. Adam beta_2 of the three optimizers. Defaults to 0.999.
        gen_feature_num_layers: int. LSTM layers. Defaults to 1.
        gen_feature_num_units: int. LSTM units. Defaults to 100.
        gen_attribute_num_layers: int. Attribute MLP layers. Defaults to 3.
        gen_attribute_num_units: int. Attribute MLP units. Defaults to 100.
        disc_num_layers, disc_num_units: int. Critic size. 5 and 200.
        attr_disc_num_layers, attr_disc_num_units: int. Auxiliary critic
            size. 5 and 200.
        attribute_latent_dim: int. Attribute noise width. Defaults to 5.
        feature_latent_dim: int. Per-step feature noise width. Defaults to 5.
        step_noise_dim: int >= 0. Width of a noise drawn for every time step
            and added to the feature generator's logits through one
            projection shared by all steps, so the steps of a block vary
            independently. 0 is the original. Defaults to 5.
        step_noise_outputs: `"auto"`, `"all"` or a list of indices into
            `feature_outputs`: the outputs that take the step noise (the
            generation flag always does). A noise per step makes a slow,
            smooth curve (yearly interpolated indicators, say) jagged.
            `"auto"` lets `fit` keep it off the smooth continuous outputs
            of the training data (`keras_dg.evaluation.smooth_features`; a
            saved weight of the generator, `step_noise_mask`). Defaults to
            `"auto"`.
        block_heads: `"auto"`, `"shared"`, `"per_position"` or a list of
            indices into `feature_outputs`. The original gives position j of
            every block of `sample_len` steps its own output head
            (`"per_position"`): that stamps one shape on every block, a
            sawtooth of period S that the data need not have (ACF spikes at
            lags k*S). `"shared"` gives all positions one head; the listed
            outputs (features with a real period of S or of a divisor of S,
            e.g. daily counts with S=7) keep per-position heads. `"auto"`
            lets `fit` list them from the training data
            (`keras_dg.evaluation.periodic_features`; a saved weight of
            the generator, `position_mask`), and ties the heads of a
            period shorter than S across its repeats in a block
            (`keras_dg.evaluation.autocorrelation.output_periods`).
            Defaults to `"auto"`.
        full_length: bool or None. True: every series runs the full
            `max_sequence_len` (the generation flag ends none, in training
            and generation; the original's maintainers' advice for
            fixed-length data, where a learned flag only ends series early
            at random). False: the flag ends series, as the original. None:
            `fit` decides from the in-memory training data (True when every
            series has the full length). The decision is a saved variable,
            `full_length_state`. Defaults to None.
        interpolate: False (the original: each block of S steps from its own
            LSTM step), `"linear"` (or True): position j of block i blended
            from block i - 1's logits to block i's (weight (j + 1) / S), so
            blocks join without a jump, or `"smooth"`: a quadratic B-spline
            through the blocks' logits, so they join without a kink either
            (see `BatchedLSTMGenerator`), or `"auto"`: `fit` gives the
            spline to the smooth continuous outputs of the training data
            (as for `step_noise_outputs`; a saved weight of the generator,
            `smooth_mask`), linear blending to the others. A saved model
            whose config says True blends linearly, as it was trained.
            Defaults to `"auto"`.
        snap_to_grid: bool. `fit` finds the continuous features whose
            training values all lie on a grid `low + k * step` (counts,
            0/1 flags, values rounded to cents; `keras_dg.models.value_grid`,
            a saved weight `feature_grid`), and generation rounds them to
            it: without it, a generated 0/1 flag takes values such as 0.33.
            False is the original. Defaults to True.
        fix_feature_network: bool. Retraining mode (ALGORITHM §7): only the
            real-attribute generator trains; the feature and min/max
            generators stay fixed, and the critics see zeros in place of
            features and min/max, real and fake alike. Usually set through
            `keras_dg.workflows.retrain_attribute_generator`. Defaults to
            False.
        ema_decay: float in [0, 1) or None. Keep an exponential moving
            average of the generators' weights (the attribute, min/max and
            feature generators, BatchNorm statistics included), updated
            after every generator update: `average = d * average + (1 - d)
            * weights`, with the decay warm-started as `d = min(ema_decay,
            k / (k + 10))` at the k-th update, so the first update copies
            the weights and a short run averages its recent steps rather
            than the initialization. `generate` uses the average
            (`generate(..., use_ema=False)` the raw weights); it is saved in
            the `.keras` file (`ema_variables`, `ema_updates`). A file saved
            without it loads with the raw weights as the average. None
            generates from the raw weights, as the original. Defaults to
            None (measured on flights, the average did not improve the
            autocorrelation: see `benchmarks/RESULTS.md`).
        dp_noise_multiplier: float or None. With a value, the critics train
            with DP-SGD (per-example clipping and Gaussian noise; the
            generator is post-processing), TensorFlow backend only. An
            example is one packed sample: with packing, each batch is packed
            disjointly (P distinct series per example) so one series moves
            one clipped gradient. Track the budget with
            `keras_dg.privacy.PrivacyBudgetCallback.for_model`. Defaults to
            None (no DP).
        dp_l2_norm_clip: float. Per-example gradient clipping norm for
            DP-SGD. Defaults to 1.0.
        privacy: dict or None. The privacy budget spent so far (epsilon,
            delta and the accounting's parameters), written by
            `keras_dg.privacy.PrivacyBudgetCallback` and kept in the
            `.keras` file. Defaults to None.
        seed: int or None. Seed of the training noise. Defaults to None.
        transformer: optional `keras_dg.data.TableTransformer` (or its
            serialized config) that maps tables to this model's encoding;
            stored in the `.keras` file so `generate_dataframe` returns
            tables in real units after a reload. Defaults to None.
        **kwargs: standard `keras.Model` arguments (`name`, ...).

    Example:

    >>> import numpy as np, keras_dg
    >>> from keras_dg import Output
    >>> model = keras_dg.DoppelGANger(
    ...     [Output("CONTINUOUS", 1, "ZERO_ONE")], [Output("DISCRETE", 2)],
    ...     max_sequence_len=4, sample_len=2, gen_feature_num_units=8,
    ...     gen_attribute_num_units=8, disc_num_units=8,
    ...     attr_disc_num_units=8, seed=0)
    >>> model.compile()
    >>> data = {"features": np.random.rand(16, 4, 1),
    ...         "attributes": np.eye(2)[np.arange(16) % 2],
    ...         "gen_flag": np.ones((16, 4))}
    >>> _ = model.fit(data, batch_size=8, epochs=1, verbose=0)
    >>> model.generate(3, seed=0).features.shape
    (3, 4, 1)

    Reference:
        Lin, Jain, Wang, Fanti, Sekar. "Using GANs for Sharing Networked
        Time Series Data: Challenges, Initial Promise, and Open Questions".
        IMC 2020. https://arxiv.org/abs/1909.13403
    """

    def __init__(
        self,
        feature_outputs,
        attribute_outputs,
        max_sequence_len,
        sample_len,
        aux_disc=DEFAULTS["aux_disc"],
        self_norm=DEFAULTS["self_norm"],
        num_packing=DEFAULTS["num_packing"],
        noise=DEFAULTS["noise"],
        feature_noise=DEFAULTS["feature_noise"],
        feed_back=DEFAULTS["feed_back"],
        initial_state=DEFAULTS["initial_state"],
        initial_stddev=DEFAULTS["initial_stddev"],
        output_margin=DEFAULTS["output_margin"],
        d_rounds=DEFAULTS["d_rounds"],
        g_rounds=DEFAULTS["g_rounds"],
        shared_noise=DEFAULTS["shared_noise"],
        d_gp_coe=DEFAULTS["d_gp_coe"],
        attr_d_gp_coe=DEFAULTS["attr_d_gp_coe"],
        g_attr_d_coe=DEFAULTS["g_attr_d_coe"],
        g_lr=DEFAULTS["g_lr"],
        d_lr=DEFAULTS["d_lr"],
        attr_d_lr=DEFAULTS["attr_d_lr"],
        beta1=DEFAULTS["beta1"],
        beta2=DEFAULTS["beta2"],
        gen_feature_num_layers=DEFAULTS["gen_feature_num_layers"],
        gen_feature_num_units=DEFAULTS["gen_feature_num_units"],
        gen_attribute_num_layers=DEFAULTS["gen_attribute_num_layers"],
        gen_attribute_num_units=DEFAULTS["gen_attribute_num_units"],
        disc_num_layers=DEFAULTS["disc_num_layers"],
        disc_num_units=DEFAULTS["disc_num_units"],
        attr_disc_num_layers=DEFAULTS["attr_disc_num_layers"],
        attr_disc_num_units=DEFAULTS["attr_disc_num_units"],
        attribute_latent_dim=DEFAULTS["attribute_latent_dim"],
        feature_latent_dim=DEFAULTS["feature_latent_dim"],
        step_noise_dim=DEFAULTS["step_noise_dim"],
        step_noise_outputs=DEFAULTS["step_noise_outputs"],
        full_length=DEFAULTS["full_length"],
        block_heads=DEFAULTS["block_heads"],
        interpolate=DEFAULTS["interpolate"],
        snap_to_grid=DEFAULTS["snap_to_grid"],
        fix_feature_network=DEFAULTS["fix_feature_network"],
        ema_decay=DEFAULTS["ema_decay"],
        dp_noise_multiplier=DEFAULTS["dp_noise_multiplier"],
        dp_l2_norm_clip=DEFAULTS["dp_l2_norm_clip"],
        privacy=DEFAULTS["privacy"],
        seed=DEFAULTS["seed"],
        transformer=DEFAULTS["transformer"],
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.feature_outputs = outputs_from_config(
            feature_outputs, "feature_outputs"
        )
        self.attribute_outputs = outputs_from_config(
            attribute_outputs, "attribute_outputs"
        )
        _check_outputs(self.feature_outputs, self.attribute_outputs)
        check_sample_len(max_sequence_len, sample_len)

        # === Config ===
        # One attribute per hyperparameter of `config.DEFAULTS`, checked.
        self.max_sequence_len = max_sequence_len
        self.sample_len = sample_len
        hyperparameters = check_hyperparameters(locals())
        hyperparameters.pop("transformer")
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.transformer = _deserialize_transformer(transformer)
        self.feature_outputs = _mark_missing_channels(
            self.feature_outputs, self.transformer
        )
        # Until weights are loaded or set, or the first `fit`: see
        # `_init_missing_channels`.
        self._channels_fresh = True

        self.num_steps = max_sequence_len // sample_len
        self.addi_outputs = (
            addi_outputs(self.feature_outputs) if self_norm else []
        )
        self.real_attribute_dim = total_dim(self.attribute_outputs)
        self.addi_attribute_dim = total_dim(self.addi_outputs)
        self.attribute_dim = self.real_attribute_dim + self.addi_attribute_dim
        if self.aux_disc and not self.attribute_dim:
            raise ValueError(
                "`aux_disc=True` needs attributes for the auxiliary critic, "
                "but `attribute_outputs` is empty and `self_norm=False`. "
                "Pass aux_disc=False (or self_norm=True)."
            )
        self.feature_dim = total_dim(self.feature_outputs)
        self.internal_feature_dim = self.feature_dim + 2

        # === Layers ===
        self._create_layers()
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Set by `compile`; None: XLA for generation where it pays.
        self.predict_jit_compile = None

        # === Loss trackers ===
        self.loss_trackers = {
            name: keras.metrics.Mean(name=name)
            for name in _tracker_names(aux_disc)
        }
        self.build()

    def _create_layers(self):
        """The generators (attribute MLP, min/max MLP with `self_norm`,
        batched LSTM) and the critics (main, auxiliary with `aux_disc`)."""

        def attribute_mlp(outputs, name):
            return AttributeGenerator(
                outputs,
                num_layers=self.gen_attribute_num_layers,
                num_units=self.gen_attribute_num_units,
                output_margin=self.output_margin,
                name=name,
            )

        self.attribute_generator = attribute_mlp(
            self.attribute_outputs, "attribute_generator"
        )
        self.addi_generator = None
        if self.addi_outputs:
            self.addi_generator = attribute_mlp(
                self.addi_outputs, "addi_attribute_generator"
            )
        self.feature_generator = BatchedLSTMGenerator(
            self.feature_outputs,
            max_sequence_len=self.max_sequence_len,
            sample_len=self.sample_len,
            num_layers=self.gen_feature_num_layers,
            num_units=self.gen_feature_num_units,
            noise=self.noise,
            noise_dim=self.feature_latent_dim,
            feature_noise=self.feature_noise,
            step_noise_dim=self.step_noise_dim,
            step_noise_outputs=self.step_noise_outputs,
            block_heads=self.block_heads,
            interpolate=self.interpolate,
            feed_back=self.feed_back,
            initial_state=self.initial_state,
            initial_stddev=self.initial_stddev,
            # With self_norm the features are in each series' own [min, max]
            # (reached once, not a mass of values): no margin there.
            output_margin=0.0 if self.self_norm else self.output_margin,
            seed=self.seed,
            name="feature_generator",
        )
        self.critic = PackedCritic(
            num_layers=self.disc_num_layers, num_units=self.disc_num_units,
            num_packing=self.num_packing, name="critic",
        )
        self.attribute_critic = None
        if self.aux_disc:
            self.attribute_critic = PackedCritic(
                num_layers=self.attr_disc_num_layers,
                num_units=self.attr_disc_num_units,
                num_packing=self.num_packing, name="attribute_critic",
            )

    # --- Building -----------------------------------------------------------

    def build(self, input_shape=None):
        if self.built:
            return
        self.attribute_generator.build((None, self.attribute_latent_dim))
        if self.addi_generator is not None:
            self.addi_generator.build(
                [(None, self.attribute_latent_dim),
                 (None, self.real_attribute_dim)]
            )
        self.feature_generator.build(
            condition_shape=(None, self.attribute_dim)
        )
        self.critic.build(
            [(None, self.max_sequence_len, self.internal_feature_dim),
             (None, self.attribute_dim)]
        )
        if self.attribute_critic is not None:
            self.attribute_critic.build((None, self.attribute_dim))
        self._build_ema()
        # 1: every series runs the full length (`full_length`); set by
        # `fit` from the training data when `full_length` is None.
        self.full_length_state = self.add_weight(
            shape=(), initializer="ones" if self.full_length else "zeros",
            dtype="float32", trainable=False, autocast=False,
            aggregation="only_first_replica", name="full_length",
        )
        # How `generate` draws the missingness channels: per channel the
        # (shift, share, rho) that `fit` calibrates after training (see
        # `keras_dg.models.missing_draws`); 0 draws the softmax as it is.
        # Per continuous feature column `(step, low, high)` of the grid its
        # training values lie on (0: none), set by `fit` and applied by
        # `decode_tensors` (`keras_dg.models.value_grid`).
        self.feature_grid = None
        if self.snap_to_grid:
            self.feature_grid = self.add_weight(
                shape=(3, self.feature_dim), initializer="zeros",
                dtype="float32", trainable=False, autocast=False,
                aggregation="only_first_replica", name="feature_grid",
            )
        self.missing_draws = None
        if self.missing_channel_count:
            self.missing_draws = self.add_weight(
                shape=(self.missing_channel_count, 3), initializer="zeros",
                dtype="float32", trainable=False, autocast=False,
                aggregation="only_first_replica", name="missing_draws",
            )
        self.built = True

    def _build_ema(self):
        """The generators' weight average (`ema_decay`): one non-trainable
        copy per variable of `ema_sources` and the update count."""
        self.ema_variables = []
        self.ema_updates = None
        if self.ema_decay is None:
            return
        # Every replica computes the same values: keep the first's.
        self.ema_variables = [
            self.add_weight(
                shape=variable.shape,
                initializer="zeros",
                dtype=variable.dtype,
                trainable=False,
                autocast=False,
                aggregation="only_first_replica",
                name="ema_" + _relative_path(variable, self),
            )
            for variable in self.ema_sources
        ]
        # 0 until the first update: `generate` then uses the raw weights.
        self.ema_updates = self.add_weight(
            shape=(), initializer="zeros", dtype="float32", trainable=False,
            autocast=False, aggregation="only_first_replica",
            name="ema_updates",
        )

    @property
    def ema_sources(self):
        """The variables `ema_variables` average: every float variable of
        the generators (weights and BatchNorm statistics; not the seed
        states, nor the generator's settings `position_mask`,
        `step_noise_mask`, `smooth_mask` and `series_noise`),
        in the order of `ema_variables`."""
        generators = [self.attribute_generator, self.addi_generator,
                      self.feature_generator]
        return [
            variable
            for layer in generators if layer is not None
            for variable in layer.variables
            if "float" in str(variable.dtype)
            # A setting, not a weight: averaged, it would lag behind `fit`.
            and not variable.path.endswith(_SETTING_VARIABLES)
        ]

    def set_weights(self, weights):
        self._channels_fresh = False
        super().set_weights(weights)

    def load_own_variables(self, store):
        # Loaded weights: the missingness channels keep them.
        self._channels_fresh = False
        # A file saved before `ema_decay` and `full_length` existed holds
        # none of the model's own variables: keep `ema_updates` at 0, so
        # that `generate` uses the loaded raw weights and the next update
        # copies them, and `full_length_state` at its initial value.
        if not list(store.keys()):
            return
        # Keras' saving order of the model's own variables.
        own = self._trainable_variables + self._non_trainable_variables
        if (
            self.missing_draws is not None
            and len(store.keys()) == len(own) - 1
        ):
            # Saved before `missing_draws` existed (the model's last own
            # variable): the others load, the draws stay uncalibrated.
            for i, variable in enumerate(own[:-1]):
                variable.assign(store[str(i)])
            return
        super().load_own_variables(store)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Built in __init__ and compile. Keras's own step would reduce a data
        # batch across workers, which fails for dict batches under
        # MultiWorkerMirroredStrategy (keras-team/keras#20329).
        if not (self.built and self.compiled and self.optimizer.built):
            super()._maybe_symbolic_build(
                iterator=iterator, data_batch=data_batch
            )

    @property
    def metrics(self):
        return list(self.loss_trackers.values())

    # --- Optimizers ---------------------------------------------------------

    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        attr_d_optimizer=None,
        jit_compile=None,
        predict_jit_compile=None,
        steps_per_execution=None,
        **kwargs,
    ):
        """Configures the three optimizers.

        Args:
            g_optimizer: optimizer (or its name/config) for the generator.
                Defaults to Adam(`g_lr`, beta_1=`beta1`, beta_2=`beta2`,
                epsilon=1e-8).
            d_optimizer: optimizer for the critic. Defaults likewise with
                `d_lr`.
            attr_d_optimizer: optimizer for the auxiliary critic (only with
                `aux_disc`). Defaults likewise with `attr_d_lr`.
            jit_compile: bool or None. XLA compilation of the train step.
                `None` picks per backend: on with JAX (24x faster than without
                on CPU), off with TensorFlow (XLA cost about half the
                throughput on CPU) and PyTorch (`torch.compile` cannot do the
                penalty's double backward). See benchmarks/RESULTS.md.
            predict_jit_compile: bool or None. XLA compilation of `predict`
                and `generate`. `None` turns it on with TensorFlow and JAX
                (1.2-1.3x faster generation on CPU with TensorFlow) unless
                the model runs eagerly or on several devices, and otherwise
                follows `jit_compile`.
            steps_per_execution: int or None. Train steps per call of the
                compiled train function (Keras' argument: batch-level
                callbacks then see one batch per call). `None` lets each
                `fit` choose: on TensorFlow
                `keras_dg.models.train_steps.base.AUTO_STEPS_PER_EXECUTION`
                (8: 1.27x faster training at the MBA shape, see
                benchmarks/RESULTS.md) unless the fit runs fewer than 100
                steps (whose extra tracing would not pay back); 1 on JAX
                (no gain) and PyTorch (the only value its trainer takes).
            **kwargs: other `keras.Model.compile` arguments, such as
                `run_eagerly`.
        """
        if "optimizer" in kwargs or "loss" in kwargs:
            raise ValueError(
                "DoppelGANger.compile takes `g_optimizer`, `d_optimizer` and "
                "`attr_d_optimizer` (the losses are fixed by the model); "
                f"received {sorted(set(kwargs) & {'optimizer', 'loss'})}."
            )
        g_optimizer = self._make_optimizer(g_optimizer, self.g_lr, "g")
        d_optimizer = self._make_optimizer(d_optimizer, self.d_lr, "d")
        optimizer_map = {_CRITIC_PATTERN: d_optimizer}
        if self.aux_disc:
            attr_d_optimizer = self._make_optimizer(
                attr_d_optimizer, self.attr_d_lr, "attr_d"
            )
            optimizer_map[_ATTRIBUTE_CRITIC_PATTERN] = attr_d_optimizer
        elif attr_d_optimizer is not None:
            raise ValueError(
                "`attr_d_optimizer` was given but the model has no "
                "auxiliary critic (aux_disc=False)."
            )
        optimizer = keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(
                default_optimizer=g_optimizer, optimizer_map=optimizer_map
            ),
            name="doppelganger_optimizers",
        )
        if predict_jit_compile is not None:
            check_bool(predict_jit_compile, "predict_jit_compile")
        self.predict_jit_compile = predict_jit_compile
        if jit_compile is None:
            jit_compile = keras.config.backend() == "jax"
        if steps_per_execution is not None:
            check_positive_int(steps_per_execution, "steps_per_execution")
            if steps_per_execution > 1 and keras.config.backend() == "torch":
                raise ValueError(
                    "`steps_per_execution` must be 1 (or None) with the "
                    "PyTorch backend, whose trainer runs one step per call. "
                    f"Received: steps_per_execution={steps_per_execution}"
                )
        self._given_steps_per_execution = steps_per_execution
        if steps_per_execution is None:
            steps_per_execution = auto_steps_per_execution()
        super().compile(
            optimizer=optimizer,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            **kwargs,
        )
        self.optimizer.build(self.trainable_variables)

    def _make_optimizer(self, optimizer, learning_rate, prefix):
        if optimizer is None:
            return keras.optimizers.Adam(
                learning_rate=learning_rate,
                beta_1=self.beta1,
                beta_2=self.beta2,
                epsilon=1e-8,
                name=f"{prefix}_optimizer",
            )
        return keras.optimizers.get(optimizer)

    def _sub_optimizer(self, pattern):
        if not self.compiled:
            raise RuntimeError(
                "The model has no optimizers yet: call `compile()` first."
            )
        optimizer_map = self.optimizer._optimizer_map
        if pattern is None:
            return optimizer_map.default_optimizer
        return optimizer_map._optimizer_map.get(pattern)

    @property
    def g_optimizer(self):
        return self._sub_optimizer(None)

    @property
    def d_optimizer(self):
        return self._sub_optimizer(_CRITIC_PATTERN)

    @property
    def attr_d_optimizer(self):
        return self._sub_optimizer(_ATTRIBUTE_CRITIC_PATTERN)

    def get_compile_config(self):
        config = super().get_compile_config()
        if not config:
            return config
        config = dict(config)
        config.pop("optimizer", None)
        # Chosen per backend at compile time (a file saved on TensorFlow
        # must compile with XLA when loaded on JAX).
        config.pop("jit_compile", None)
        # Keras records the value in use; only one given to `compile` is
        # kept, under its own key (files saved before keras-dg chose it
        # recorded Keras' default 1, which `compile_from_config` drops).
        config.pop("steps_per_execution", None)
        if self._given_steps_per_execution is not None:
            config["given_steps_per_execution"] = (
                self._given_steps_per_execution
            )
        if self.predict_jit_compile is not None:
            config["predict_jit_compile"] = self.predict_jit_compile
        for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
            config.pop(key, None)
        config["g_optimizer"] = keras.optimizers.serialize(self.g_optimizer)
        config["d_optimizer"] = keras.optimizers.serialize(self.d_optimizer)
        if self.aux_disc:
            config["attr_d_optimizer"] = keras.optimizers.serialize(
                self.attr_d_optimizer
            )
        return config

    def compile_from_config(self, config):
        config = dict(config)
        config.pop("steps_per_execution", None)  # See get_compile_config.
        given = config.pop("given_steps_per_execution", None)
        if given is not None:
            config["steps_per_execution"] = given
        for key in ("g_optimizer", "d_optimizer", "attr_d_optimizer"):
            if config.get(key) is not None:
                config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)

    # --- Generator forward --------------------------------------------------

    def sample_noise(self, batch_size, seed=None):
        """Draws the generator's inputs for `batch_size` series.

        With `seed` a `np.random.Generator`, the noise comes from it; else
        from the model's seed generator (the train steps' noise). `generate`
        draws its own, reproducible row by row (see `_GenerationNoise`).
        """
        shapes = self._noise_shapes(batch_size)
        if isinstance(seed, np.random.Generator):
            return {
                k: seed.standard_normal(s, dtype=np.float32)
                for k, s in shapes.items()
            }
        return {
            k: keras.random.normal(s, seed=self.seed_generator)
            for k, s in shapes.items()
        }

    def _noise_shapes(self, batch_size):
        """`{input name: shape}` of the generator's noise for a batch."""
        shapes = {
            "attribute_noise": (batch_size, self.attribute_latent_dim),
            "addi_noise": (batch_size, self.attribute_latent_dim),
            "feature_noise": (
                batch_size, self.num_steps, self.feature_latent_dim
            ),
        }
        if self.step_noise_dim:
            shapes["step_noise"] = (
                batch_size, self.max_sequence_len, self.step_noise_dim
            )
        if self.initial_state == "random":
            shapes["initial_state"] = (
                batch_size, self.gen_feature_num_layers, 2,
                self.gen_feature_num_units,
            )
        return shapes

    def generate_internal(
        self, noise, attributes=None, training=False, full_length=None
    ):
        """Runs the generators on drawn noise.

        Args:
            noise: dict from `sample_noise`. A `feature_noise` with more (or
                fewer) LSTM steps than `max_sequence_len / sample_len`
                (and a `step_noise` as long) runs the feature LSTM that many
                steps: series continued past the window (see `generate`'s
                `length`).
            attributes: optional [B, A_real] given (encoded) attributes.
            training: bool.
            full_length: optional bool. True runs every series the full
                length whatever its generation flag; None follows the
                model's `full_length_state`.

        Returns:
            `(features [B, T, F + 2], attributes [B, A], gen_flag [B, T],
            lengths [B])` in the model's internal encoding: features with the
            flag columns, soft attributes with the min/max columns.
        """
        if attributes is None:
            soft_real, hard_real = self.attribute_generator(
                noise["attribute_noise"], training=training
            )
        else:
            soft_real = hard_real = ops.cast(attributes, "float32")
        soft, hard = [soft_real], [hard_real]
        if self.addi_generator is not None:
            soft_addi, hard_addi = self.addi_generator(
                [noise["addi_noise"], hard_real], training=training
            )
            soft.append(soft_addi)
            hard.append(hard_addi)
        soft = ops.concatenate(soft, axis=-1) if len(soft) > 1 else soft[0]
        hard = ops.concatenate(hard, axis=-1) if len(hard) > 1 else hard[0]
        num_steps = noise["feature_noise"].shape[1]
        features, gen_flag, lengths = self.feature_generator(
            hard,
            noise=noise["feature_noise"] if self.noise else None,
            initial_state=noise.get("initial_state"),
            step_noise=noise.get("step_noise"),
            full_length=(
                self.full_length_state if full_length is None
                else int(full_length)
            ),
            num_steps=None if num_steps == self.num_steps else num_steps,
            training=training,
        )
        return features, soft, gen_flag, lengths

    def call(self, inputs, training=False):
        """Generates from a dict of noise (see `sample_noise`), optionally
        with `"attributes"` given. Returns a dict of internal tensors (see
        `generate_internal`); `predict` adds the decoded series. With a
        `"full_length"` entry (its values unused), every series runs the
        full length (what `generate(length=...)` passes); a
        `"missing_uniform"` and a `"missing_level"` entry are for the
        decoding of `predict` (see `decode_tensors`)."""
        inputs = dict(inputs)
        given = inputs.pop("attributes", None)
        # Used by `predict_step`'s decoding (`decode_tensors`) only.
        inputs.pop(MISSING_UNIFORM, None)
        inputs.pop(MISSING_LEVEL, None)
        full_length = None
        if inputs.pop("full_length", None) is not None:
            full_length = True
        features, attributes, gen_flag, lengths = self.generate_internal(
            inputs, attributes=given, training=training,
            full_length=full_length,
        )
        return {
            "features": features,
            "attributes": attributes,
            "gen_flag": gen_flag,
            "lengths": lengths,
        }

    # --- Presets (keras_dg.presets.preset_io) -------------------------------

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """A model from a preset: a built-in name (see `presets`), a folder
        written by `save_to_preset`, `kaggle://...` or `hf://...`; `kwargs`
        replace the preset's hyperparameters (`compile=True` compiles it,
        restoring the optimizers' state if the preset holds it). See
        `keras_dg.presets.preset_io.load_preset`."""
        from keras_dg.presets.preset_io import load_preset

        return load_preset(preset, load_weights=load_weights, cls=cls,
                           **kwargs)

    def save_to_preset(self, preset_dir, metadata=None, overwrite=False,
                       include_optimizer=False):
        """Writes the model as a preset folder (config.json,
        model.weights.h5, metadata.json, transformer.json). See
        `keras_dg.presets.preset_io.save_to_preset`."""
        from keras_dg.presets.preset_io import save_to_preset

        return save_to_preset(self, preset_dir, metadata=metadata,
                              overwrite=overwrite,
                              include_optimizer=include_optimizer)

    presets = _PresetsWithWeights()

    # --- Config -------------------------------------------------------------

    @classmethod
    def from_config(cls, config):
        # A config saved before these generator options existed holds the
        # original's generator: load it as such (its weights fit no other).
        # (A missing `ema_decay` needs no such care: see
        # `load_own_variables`.)
        from keras_dg.models.saved_config import check_saved_config
        from keras_dg.models.saved_config import constructor_arguments

        config = check_saved_config(config, constructor_arguments(cls))
        added = (
            "step_noise_dim", "step_noise_outputs", "block_heads",
            "interpolate", "snap_to_grid", "full_length", "feature_noise",
        )
        config = {**{name: PAPER[name] for name in added}, **config}
        try:
            return super().from_config(config)
        except (TypeError, AttributeError, KeyError, IndexError) as e:
            raise ValueError(
                f"The saved DoppelGANger config is not valid: {e}"
            ) from None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_outputs": outputs_to_config(self.feature_outputs),
                "attribute_outputs": outputs_to_config(self.attribute_outputs),
                "max_sequence_len": self.max_sequence_len,
                "sample_len": self.sample_len,
            }
        )
        config.update({name: getattr(self, name) for name in DEFAULTS})
        if self.transformer is not None:
            config["transformer"] = keras.saving.serialize_keras_object(
                self.transformer
            )
        return config


def _check_outputs(feature_outputs, attribute_outputs):
    """At least one feature output, none a generation-flag output.

    `attribute_outputs` may be empty (series without metadata): the
    attribute generator then produces nothing and the features are
    conditioned on the generated min/max (`self_norm`) alone, or on nothing.
    """
    if not feature_outputs:
        raise ValueError("`feature_outputs` must not be empty.")
    for name, outputs in (
        ("feature_outputs", feature_outputs),
        ("attribute_outputs", attribute_outputs),
    ):
        for i, output in enumerate(outputs):
            if output.is_gen_flag:
                raise ValueError(
                    f"`{name}[{i}]` has is_gen_flag=True; the model adds "
                    "the generation flag itself. Pass is_gen_flag=False."
                )


def _mark_missing_channels(outputs, transformer):
    """`outputs` with `is_missing_channel` set where `transformer`'s
    feature outputs have it, when both encode the same way: a model saved
    before the flag existed (its channels plain 2-way outputs) learns
    which outputs are channels from its transformer."""
    theirs = getattr(transformer, "feature_outputs", None)
    if not theirs or len(theirs) != len(outputs):
        return outputs

    def encoding(output):
        config = output.to_config()
        config.pop("is_missing_channel", None)
        return config

    if any(encoding(a) != encoding(b) for a, b in zip(outputs, theirs)):
        return outputs
    return [
        Output.from_config({
            **a.to_config(),
            "is_missing_channel": a.is_missing_channel or b.is_missing_channel,
        })
        for a, b in zip(outputs, theirs)
    ]


def _relative_path(variable, model):
    """`variable`'s path below `model`, with `_` for `/` (a variable name)."""
    path = variable.path
    if path.startswith(model.name + "/"):
        path = path[len(model.name) + 1:]
    return path.replace("/", "_")


def _tracker_names(aux_disc):
    """The loss terms the model tracks (the logs of `fit`), in order."""
    names = ["d_loss", "d_loss_fake", "d_loss_real", "d_loss_gp"]
    if aux_disc:
        names += [
            "attr_d_loss", "attr_d_loss_fake", "attr_d_loss_real",
            "attr_d_loss_gp",
        ]
    names += ["g_loss", "g_loss_d"]
    if aux_disc:
        names.append("g_loss_attr_d")
    return names


def _deserialize_transformer(transformer):
    if transformer is None or not isinstance(transformer, dict):
        return transformer
    # Registers TableTransformer (and imports pandas) only when needed.
    from keras_dg.data import TableTransformer

    if "class_name" in transformer:
        return keras.saving.deserialize_keras_object(transformer)
    return TableTransformer.from_config(transformer)

