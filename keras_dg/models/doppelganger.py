import concurrent.futures
import threading

import keras
import numpy as np
from keras import ops

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.dataset import check_attributes
from keras_dg.layers.attribute_generator import AttributeGenerator
from keras_dg.layers.batched_lstm_generator import INITIAL_STATES
from keras_dg.layers.batched_lstm_generator import BatchedLSTMGenerator
from keras_dg.layers.output_heads import harden
from keras_dg.layers.packed_critic import PackedCritic
from keras_dg.models.train_steps import get_train_step
from keras_dg.preprocessing.gen_flag import add_gen_flag
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.preprocessing.per_sample_normalization import EPSILON
from keras_dg.preprocessing.per_sample_normalization import addi_outputs
from keras_dg.preprocessing.per_sample_normalization import (
    normalize_per_sample,
)
from keras_dg.preprocessing.per_sample_normalization import (
    renormalize_per_sample,
)
from keras_dg.specs import output_slices
from keras_dg.specs import outputs_from_config
from keras_dg.specs import outputs_to_config
from keras_dg.specs import total_dim
from keras_dg.validation import check_bool
from keras_dg.validation import check_non_negative_float
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int

# Variable paths routed to each critic's optimizer; everything else is the
# generator's (both attribute MLPs, the LSTM, its heads, BN and state).
_CRITIC_PATTERN = "(.*/)?critic/.*"
_ATTRIBUTE_CRITIC_PATTERN = "(.*/)?attribute_critic/.*"
_BATCH_KEYS = ("features", "attributes", "gen_flag")
_DEFAULT_BATCH_SIZE = 100


@keras.saving.register_keras_serializable(package="keras_dg")
class DoppelGANger(keras.Model):
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
    (ALGORITHM §5): batch size 100 (`fit`'s default here), one critic and one
    generator round per batch, GP weight 10, Adam(1e-3, beta_1=0.5,
    epsilon=1e-8) for all three networks.

    Data go in encoded as in the original format (continuous columns scaled
    to [0, 1] or [-1, 1], discrete columns one-hot, zeros after each series'
    end, a 0/1 `gen_flag`); the model adds the generation-flag columns and the
    per-sample normalization itself, on every batch.

    Args:
        feature_outputs: list of `Output` (or dicts). The feature columns.
        attribute_outputs: list of `Output` (or dicts). The attribute columns.
        max_sequence_len: int. T, the (padded) series length.
        sample_len: int. S, time steps emitted per LSTM step; divides T.
        aux_disc: bool. Use the auxiliary attribute critic. Defaults to True.
        self_norm: bool. Auto-normalize each series and generate its
            min/max as extra attributes. Defaults to True.
        num_packing: int. PacGAN degree. Defaults to 1.
        noise: bool. Per-LSTM-step noise. Defaults to True.
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
        gen_feature_num_layers: int. LSTM layers. Defaults to 1.
        gen_feature_num_units: int. LSTM units. Defaults to 100.
        gen_attribute_num_layers: int. Attribute MLP layers. Defaults to 3.
        gen_attribute_num_units: int. Attribute MLP units. Defaults to 100.
        disc_num_layers, disc_num_units: int. Critic size. 5 and 200.
        attr_disc_num_layers, attr_disc_num_units: int. Auxiliary critic
            size. 5 and 200.
        attribute_latent_dim: int. Attribute noise width. Defaults to 5.
        feature_latent_dim: int. Per-step feature noise width. Defaults to 5.
        fix_feature_network: bool. Retraining mode (ALGORITHM §7): only the
            real-attribute generator trains; the feature and min/max
            generators stay fixed, and the critics see zeros in place of
            features and min/max, real and fake alike. Usually set through
            `keras_dg.workflows.retrain_attribute_generator`. Defaults to
            False.
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
        aux_disc=True,
        self_norm=True,
        num_packing=1,
        noise=True,
        feed_back=False,
        initial_state="random",
        initial_stddev=0.02,
        output_margin=0.01,
        d_rounds=1,
        g_rounds=1,
        shared_noise=True,
        d_gp_coe=10.0,
        attr_d_gp_coe=10.0,
        g_attr_d_coe=1.0,
        g_lr=1e-3,
        d_lr=1e-3,
        attr_d_lr=1e-3,
        beta1=0.5,
        gen_feature_num_layers=1,
        gen_feature_num_units=100,
        gen_attribute_num_layers=3,
        gen_attribute_num_units=100,
        disc_num_layers=5,
        disc_num_units=200,
        attr_disc_num_layers=5,
        attr_disc_num_units=200,
        attribute_latent_dim=5,
        feature_latent_dim=5,
        fix_feature_network=False,
        dp_noise_multiplier=None,
        dp_l2_norm_clip=1.0,
        privacy=None,
        seed=None,
        transformer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.feature_outputs = outputs_from_config(
            feature_outputs, "feature_outputs"
        )
        self.attribute_outputs = outputs_from_config(
            attribute_outputs, "attribute_outputs"
        )
        if not self.feature_outputs:
            raise ValueError("`feature_outputs` must not be empty.")
        if not self.attribute_outputs:
            raise ValueError(
                "`attribute_outputs` must not be empty: DoppelGANger "
                "generates each series' attributes first."
            )
        for name, outputs in (
            ("feature_outputs", self.feature_outputs),
            ("attribute_outputs", self.attribute_outputs),
        ):
            for i, output in enumerate(outputs):
                if output.is_gen_flag:
                    raise ValueError(
                        f"`{name}[{i}]` has is_gen_flag=True; the model adds "
                        "the generation flag itself. Pass is_gen_flag=False."
                    )
        check_sample_len(max_sequence_len, sample_len)
        for name in (
            "aux_disc", "self_norm", "noise", "feed_back", "shared_noise",
            "fix_feature_network",
        ):
            check_bool(locals()[name], name)
        for name in (
            "num_packing", "d_rounds", "g_rounds", "gen_feature_num_layers",
            "gen_feature_num_units", "gen_attribute_num_layers",
            "gen_attribute_num_units", "disc_num_layers", "disc_num_units",
            "attr_disc_num_layers", "attr_disc_num_units",
            "attribute_latent_dim", "feature_latent_dim",
        ):
            check_positive_int(locals()[name], name)
        for name in ("d_gp_coe", "attr_d_gp_coe", "g_attr_d_coe"):
            check_non_negative_float(locals()[name], name)
        for name in ("g_lr", "d_lr", "attr_d_lr"):
            check_positive_float(locals()[name], name)
        if not 0 <= beta1 < 1:
            raise ValueError(f"`beta1` must be in [0, 1). Received: {beta1}")
        check_one_of(initial_state, "initial_state", INITIAL_STATES)
        check_non_negative_float(output_margin, "output_margin")
        if dp_noise_multiplier is not None:
            check_non_negative_float(dp_noise_multiplier, "dp_noise_multiplier")
        check_positive_float(dp_l2_norm_clip, "dp_l2_norm_clip")

        self.max_sequence_len = max_sequence_len
        self.sample_len = sample_len
        self.aux_disc = aux_disc
        self.self_norm = self_norm
        self.num_packing = num_packing
        self.noise = noise
        self.feed_back = feed_back
        self.initial_state = initial_state
        self.initial_stddev = initial_stddev
        self.output_margin = float(output_margin)
        self.d_rounds = d_rounds
        self.g_rounds = g_rounds
        self.shared_noise = shared_noise
        self.d_gp_coe = float(d_gp_coe)
        self.attr_d_gp_coe = float(attr_d_gp_coe)
        self.g_attr_d_coe = float(g_attr_d_coe)
        self.g_lr = float(g_lr)
        self.d_lr = float(d_lr)
        self.attr_d_lr = float(attr_d_lr)
        self.beta1 = float(beta1)
        self.gen_feature_num_layers = gen_feature_num_layers
        self.gen_feature_num_units = gen_feature_num_units
        self.gen_attribute_num_layers = gen_attribute_num_layers
        self.gen_attribute_num_units = gen_attribute_num_units
        self.disc_num_layers = disc_num_layers
        self.disc_num_units = disc_num_units
        self.attr_disc_num_layers = attr_disc_num_layers
        self.attr_disc_num_units = attr_disc_num_units
        self.attribute_latent_dim = attribute_latent_dim
        self.feature_latent_dim = feature_latent_dim
        self.fix_feature_network = fix_feature_network
        self.dp_noise_multiplier = (
            None if dp_noise_multiplier is None else float(dp_noise_multiplier)
        )
        self.dp_l2_norm_clip = float(dp_l2_norm_clip)
        if privacy is not None and not isinstance(privacy, dict):
            raise ValueError(
                f"`privacy` must be a dict or None. Received: {privacy!r}"
            )
        self.privacy = None if privacy is None else dict(privacy)
        self.seed = seed
        self.transformer = _deserialize_transformer(transformer)

        self.num_steps = max_sequence_len // sample_len
        self.addi_outputs = (
            addi_outputs(self.feature_outputs) if self_norm else []
        )
        self.real_attribute_dim = total_dim(self.attribute_outputs)
        self.addi_attribute_dim = total_dim(self.addi_outputs)
        self.attribute_dim = self.real_attribute_dim + self.addi_attribute_dim
        self.feature_dim = total_dim(self.feature_outputs)
        self.internal_feature_dim = self.feature_dim + 2

        # === Layers ===
        self.attribute_generator = AttributeGenerator(
            self.attribute_outputs,
            num_layers=gen_attribute_num_layers,
            num_units=gen_attribute_num_units,
            output_margin=output_margin,
            name="attribute_generator",
        )
        self.addi_generator = None
        if self.addi_outputs:
            self.addi_generator = AttributeGenerator(
                self.addi_outputs,
                num_layers=gen_attribute_num_layers,
                num_units=gen_attribute_num_units,
                output_margin=output_margin,
                name="addi_attribute_generator",
            )
        self.feature_generator = BatchedLSTMGenerator(
            self.feature_outputs,
            max_sequence_len=max_sequence_len,
            sample_len=sample_len,
            num_layers=gen_feature_num_layers,
            num_units=gen_feature_num_units,
            noise=noise,
            noise_dim=feature_latent_dim,
            feed_back=feed_back,
            initial_state=initial_state,
            initial_stddev=initial_stddev,
            # With self_norm the features are in each series' own [min, max]
            # (reached once, not a mass of values): no margin there.
            output_margin=0.0 if self_norm else output_margin,
            seed=seed,
            name="feature_generator",
        )
        self.critic = PackedCritic(
            num_layers=disc_num_layers,
            num_units=disc_num_units,
            num_packing=num_packing,
            name="critic",
        )
        self.attribute_critic = None
        if aux_disc:
            self.attribute_critic = PackedCritic(
                num_layers=attr_disc_num_layers,
                num_units=attr_disc_num_units,
                num_packing=num_packing,
                name="attribute_critic",
            )
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Set by `compile`; None: XLA for generation where it pays.
        self.predict_jit_compile = None

        # === Loss trackers ===
        tracker_names = ["d_loss", "d_loss_fake", "d_loss_real", "d_loss_gp"]
        if aux_disc:
            tracker_names += [
                "attr_d_loss", "attr_d_loss_fake", "attr_d_loss_real",
                "attr_d_loss_gp",
            ]
        tracker_names += ["g_loss", "g_loss_d"]
        if aux_disc:
            tracker_names.append("g_loss_attr_d")
        self.loss_trackers = {
            name: keras.metrics.Mean(name=name) for name in tracker_names
        }
        self.build()

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
        self.built = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Built in __init__ and compile. Keras's own step would reduce a data
        # batch across workers, which fails for dict batches under
        # MultiWorkerMirroredStrategy (keras-team/keras#20329).
        if not (self.built and self.compiled and self.optimizer.built):
            super()._maybe_symbolic_build(
                iterator=iterator, data_batch=data_batch
            )

    @property
    def generator_trainable_variables(self):
        variables = list(self.attribute_generator.trainable_variables)
        if self.fix_feature_network:
            return variables
        if self.addi_generator is not None:
            variables += self.addi_generator.trainable_variables
        return variables + self.feature_generator.trainable_variables

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
        **kwargs,
    ):
        """Configures the three optimizers.

        Args:
            g_optimizer: optimizer (or its name/config) for the generator.
                Defaults to Adam(`g_lr`, beta_1=`beta1`, epsilon=1e-8).
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
            **kwargs: other `keras.Model.compile` arguments, such as
                `steps_per_execution` or `run_eagerly`.
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
        super().compile(optimizer=optimizer, jit_compile=jit_compile, **kwargs)
        self.optimizer.build(self.trainable_variables)

    def _make_optimizer(self, optimizer, learning_rate, prefix):
        if optimizer is None:
            return keras.optimizers.Adam(
                learning_rate=learning_rate,
                beta_1=self.beta1,
                beta_2=0.999,
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
        if self.initial_state == "random":
            shapes["initial_state"] = (
                batch_size, self.gen_feature_num_layers, 2,
                self.gen_feature_num_units,
            )
        return shapes

    def generate_internal(self, noise, attributes=None, training=False):
        """Runs the generators on drawn noise.

        Args:
            noise: dict from `sample_noise`.
            attributes: optional [B, A_real] given (encoded) attributes.
            training: bool.

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
        features, gen_flag, lengths = self.feature_generator(
            hard,
            noise=noise["feature_noise"] if self.noise else None,
            initial_state=noise.get("initial_state"),
            training=training,
        )
        return features, soft, gen_flag, lengths

    def call(self, inputs, training=False):
        """Generates from a dict of noise (see `sample_noise`), optionally
        with `"attributes"` given. Returns a dict of internal tensors (see
        `generate_internal`); `predict` adds the decoded series."""
        inputs = dict(inputs)
        given = inputs.pop("attributes", None)
        features, attributes, gen_flag, lengths = self.generate_internal(
            inputs, attributes=given, training=training
        )
        return {
            "features": features,
            "attributes": attributes,
            "gen_flag": gen_flag,
            "lengths": lengths,
        }

    def predict_step(self, *args):
        """`call`'s outputs plus the decoded series, computed in the
        compiled predict function: `decoded_features` and
        `decoded_attributes` (what `generate` returns, see `decode`)."""
        # TensorFlow and PyTorch call predict_step(data); JAX calls
        # predict_step(state, data) and expects (outputs, state) back.
        result = super().predict_step(*args)
        stateless = keras.config.backend() == "jax"
        outputs = dict(result[0] if stateless else result)
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(args[-1])
        features, attributes = self.decode_tensors(
            outputs["features"],
            outputs["attributes"],
            outputs["gen_flag"],
            given_attributes=inputs.get("attributes"),
        )
        outputs["decoded_features"] = features
        outputs["decoded_attributes"] = attributes
        return (outputs, result[1]) if stateless else outputs

    def make_predict_function(self, force=False):
        """Keras' predict function, XLA-compiled according to
        `predict_jit_compile` rather than the train step's `jit_compile`."""
        if self.predict_function is not None and not force:
            return self.predict_function
        jit_compile = self.predict_jit_compile
        if jit_compile is None:
            # XLA fuses each LSTM step's element-wise work: generation ran
            # 1.2-1.3x faster with it on TensorFlow on CPU (T=56 and T=550;
            # benchmarks/RESULTS.md), where the train step is slower with it.
            # Under a multi-device strategy Keras' own choice stays.
            jit_compile = (
                keras.config.backend() in ("tensorflow", "jax")
                and _replicas(self) == 1
                and not self.run_eagerly
            ) or self.jit_compile
        train_jit_compile = self._jit_compile
        self._jit_compile = bool(jit_compile)
        try:
            return super().make_predict_function(force=force)
        finally:
            self._jit_compile = train_jit_compile

    # --- Encoding of real data ----------------------------------------------

    def encode(self, features, attributes, gen_flag):
        """Real data to the internal encoding the critics see.

        Adds the per-sample min/max attributes (`self_norm`) and the two
        generation-flag columns.
        """
        features = ops.cast(features, "float32")
        attributes = ops.cast(attributes, "float32")
        gen_flag = ops.cast(gen_flag, "float32")
        if self.self_norm:
            features, addi = normalize_per_sample(
                features, self.feature_outputs
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
            missing = [k for k in _BATCH_KEYS if k not in data]
            if missing:
                raise ValueError(
                    f"Training batches must hold the keys {list(_BATCH_KEYS)};"
                    f" missing {missing}. Received keys {sorted(data)}."
                )
            return tuple(data[k] for k in _BATCH_KEYS)
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

    # --- Pieces of every backend's train step --------------------------------

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
            *self.encode(features, attributes, gen_flag)
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

    # --- Training -----------------------------------------------------------

    def train_step(self, *args):
        # TensorFlow and PyTorch call train_step(data); JAX calls
        # train_step(state, data) and expects (logs, state) back.
        backend = keras.config.backend()
        if self.dp_noise_multiplier is not None:
            backend += "_dp"
        return get_train_step(backend)(self, *args)

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

    def update_trackers(self, prefix, terms):
        """Adds a round's loss terms to the `Mean` trackers."""
        self.loss_trackers[prefix].update_state(terms["loss"])
        for key, value in terms.items():
            if key != "loss":
                self.loss_trackers[f"{prefix}_{key}"].update_state(value)

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """Trains the model (`keras.Model.fit`).

        `x` is a `TimeSeriesDataset`, a dict of arrays with keys
        `features` [N, T, F], `attributes` [N, A] and `gen_flag` [N, T], a
        tuple of those three arrays, a features array with `y` the
        attributes (all series then full length), or a `tf.data.Dataset` /
        `keras.utils.PyDataset` yielding such dicts or tuples (batched by
        you; not validated up front). In-memory data are validated against
        the model's specs before training starts. `batch_size` defaults to
        100, the original's. `validation_data` is not supported: monitor
        fidelity with `keras_dg.evaluation.FidelityCallback`.
        """
        for key in ("validation_data", "validation_split"):
            if kwargs.get(key):
                raise ValueError(
                    f"`{key}` is not supported by DoppelGANger.fit (a GAN has "
                    "no validation loss to report); use "
                    "keras_dg.evaluation.FidelityCallback to track fidelity "
                    "on held-out data."
                )
        if not self.compiled:
            raise RuntimeError("Call `compile()` before `fit()`.")
        x, in_memory = self._training_inputs(x, y)
        if in_memory and batch_size is None:
            batch_size = min(_DEFAULT_BATCH_SIZE, len(x["features"]))
        if not in_memory:
            # Pipelines shuffle themselves; Keras would warn otherwise.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, batch_size=batch_size, **kwargs)

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
            missing = [k for k in _BATCH_KEYS if k not in x]
            extra = sorted(set(x) - set(_BATCH_KEYS))
            if missing or extra:
                raise ValueError(
                    f"`x` must hold exactly the keys {list(_BATCH_KEYS)}; "
                    f"missing {missing}, unexpected {extra}."
                )
            arrays = [x[k] for k in _BATCH_KEYS]
        elif isinstance(x, (list, tuple)) and len(x) == 3 and y is None:
            arrays = list(x)
        elif isinstance(x, np.ndarray):
            if y is None:
                raise ValueError(
                    "A features array needs the attributes as `y` (or pass a"
                    " dict with features, attributes and gen_flag)."
                )
            features = np.asarray(x)
            arrays = [x, y, np.ones(features.shape[:2], "float32")]
        else:
            if y is not None:
                raise ValueError("`y` must be None for this kind of `x`.")
            return x, False
        if not all(
            isinstance(a, (np.ndarray, list)) or hasattr(a, "__array__")
            for a in arrays
        ):
            return dict(zip(_BATCH_KEYS, arrays)), False
        dataset = TimeSeriesDataset(
            *arrays, self.feature_outputs, self.attribute_outputs
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

    # --- Generation ---------------------------------------------------------

    def generate(
        self,
        n=None,
        attributes=None,
        seed=None,
        batch_size=1000,
        fixed_attributes=None,
        tolerance=0.05,
        max_draws=1_000_000,
    ):
        """Samples synthetic series.

        Args:
            n: int. Number of series (not needed with `attributes`).
            attributes: optional [n, A] array of encoded attributes (one-hot
                discrete, scaled continuous): generate the features for
                exactly these attributes (conditional generation).
            seed: int or None. The same seed gives the same data, whatever
                `batch_size` and backend: each row's noise depends only on the
                seed and the row's index (so the first `m` series of
                `generate(n, seed=s)` are `generate(m, seed=s)`).
            batch_size: int. Series per compiled forward pass (chunks
                of 1000 or more use the CPU well). Defaults to 1000.
            fixed_attributes: optional dict `{attribute output index: value}`
                fixing some attributes and letting the model sample the
                others from its learned conditional distribution. A discrete
                value is a category index or a one-hot vector; a continuous
                value a float (or `dim` floats) in the encoded range. Method:
                rejection sampling of the attribute generator: draws whose
                fixed attributes match (discrete: same category; continuous:
                within `tolerance`) are kept, which samples the free
                attributes exactly from the generator's conditional
                distribution given the fixed ones; then the features are
                generated for the kept attributes (continuous fixed values
                set exactly).
            tolerance: float. Match width for continuous fixed attributes,
                in encoded units. Defaults to 0.05.
            max_draws: int. Give up (with an error that reports the
                acceptance rate) after this many attribute draws.

        Returns:
            A `TimeSeriesDataset` in the encoded space: continuous features in
            their normalization's range, discrete features and attributes
            one-hot, everything zero after each series' end, `gen_flag` and
            `lengths` from the generation flag.
        """
        check_positive_int(batch_size, "batch_size")
        if attributes is not None and fixed_attributes is not None:
            raise ValueError(
                "Pass either `attributes` (all of them) or `fixed_attributes`"
                " (some of them), not both."
            )
        if attributes is not None:
            attributes = self._check_given_attributes(attributes, n)
            n = len(attributes)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or (
            n < 1
        ):
            raise ValueError(
                f"`n` must be a positive integer. Received: n={n!r}"
            )
        n = int(n)
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            raise ValueError(
                "`seed` must be None or a non-negative integer. Received: "
                f"seed={seed!r}"
            )
        entropy = np.random.SeedSequence(seed).entropy
        if fixed_attributes is not None:
            rng = np.random.default_rng(
                np.random.SeedSequence(entropy, spawn_key=(1,))
            )
            attributes = self._sample_attributes_given(
                n, fixed_attributes, tolerance, max_draws, batch_size, rng
            )
        noise = _GenerationNoise(self._noise_shapes(1), n, entropy)
        keys = ("decoded_features", "decoded_attributes", "gen_flag")

        def chunk_inputs(start, stop):
            inputs = noise.rows(start, stop)
            if attributes is not None:
                inputs["attributes"] = attributes[start:stop]
            return inputs

        if _replicas(self) > 1:
            # `predict` splits the rows over the replicas.
            out = self.predict(
                chunk_inputs(0, n), batch_size=batch_size, verbose=0
            )
            return self._dataset(*(out[key] for key in keys))
        # One compiled predict call per chunk (`predict_on_batch`): the
        # generator forward and the decoding run in one graph, without the
        # input pipeline `predict` builds (half the time at 5,000 series).
        # Every chunk has the same number of rows (the last one is padded),
        # so the predict function compiles once. One thread draws the noise
        # ahead (NumPy and the backends release the GIL: noise was a fifth
        # of the time at T=56); on TensorFlow two chunks run at once, which
        # keeps both cores busy (it paid at T=550 on 2 cores). JAX's and
        # PyTorch's `predict_on_batch` update model state: one at a time.
        size = min(batch_size, n)
        self.make_predict_function()  # Built once, before any thread.

        def run(start, pending_inputs):
            stop = min(start + size, n)
            out = self.predict_on_batch(
                _pad_rows(pending_inputs.result(), size)
            )
            return {key: out[key][: stop - start] for key in keys}

        drawer, runner = _generation_pools(
            2 if keras.config.backend() == "tensorflow" else 1
        )
        chunks = [
            runner.submit(
                run, start,
                drawer.submit(chunk_inputs, start, min(start + size, n)),
            )
            for start in range(0, n, size)
        ]
        chunks = [chunk.result() for chunk in chunks]
        return self._dataset(
            *(
                np.concatenate([chunk[key] for chunk in chunks], axis=0)
                for key in keys
            )
        )

    def _fixed_blocks(self, fixed_attributes, tolerance):
        """Validated `(output, start, end, target [dim])` per fixed output."""
        if not isinstance(fixed_attributes, dict) or not fixed_attributes:
            raise ValueError(
                "`fixed_attributes` must be a non-empty dict {attribute "
                f"output index: value}}. Received: {fixed_attributes!r}"
            )
        check_positive_float(tolerance, "tolerance")
        slices = output_slices(self.attribute_outputs)
        blocks = []
        for index, value in fixed_attributes.items():
            if isinstance(index, bool) or not isinstance(
                index, (int, np.integer)
            ) or not 0 <= index < len(slices):
                raise ValueError(
                    f"`fixed_attributes` key {index!r} is not an attribute "
                    f"output index in 0..{len(slices) - 1}."
                )
            output, start, end = slices[index]
            if output.is_discrete and np.ndim(value) == 0:
                if isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)
                ) or not 0 <= value < output.dim:
                    raise ValueError(
                        f"`fixed_attributes[{index}]` must be a category index"
                        f" in 0..{output.dim - 1} or a one-hot vector. "
                        f"Received: {value!r}"
                    )
                target = np.eye(output.dim, dtype="float32")[int(value)]
            else:
                target = np.asarray(value, dtype="float32").reshape(-1)
                if target.shape != (output.dim,):
                    raise ValueError(
                        f"`fixed_attributes[{index}]` must have {output.dim} "
                        f"value(s) for {output!r}. Received: {value!r}"
                    )
                check_attributes(target[None], [output],
                                 f"fixed_attributes[{index}]")
            blocks.append((output, start, end, target))
        return blocks

    def _sample_attributes_given(
        self, n, fixed_attributes, tolerance, max_draws, batch_size, rng
    ):
        blocks = self._fixed_blocks(fixed_attributes, tolerance)
        check_positive_int(max_draws, "max_draws")
        kept, num_kept, draws = [], 0, 0
        chunk = max(batch_size, 4 * n)
        while num_kept < n:
            if draws >= max_draws:
                raise ValueError(
                    f"Only {num_kept} of {n} attribute draws matched "
                    f"`fixed_attributes` after {draws} draws (acceptance rate"
                    f" {num_kept / draws:.2e}): the model rarely generates "
                    "this combination. Raise `max_draws` or `tolerance`, or "
                    "pass all attributes with `attributes=`."
                )
            noise = rng.standard_normal(
                (chunk, self.attribute_latent_dim)
            ).astype("float32")
            _, hard = self.attribute_generator(noise, training=False)
            hard = np.array(ops.convert_to_numpy(hard))
            draws += chunk
            match = np.ones(chunk, dtype=bool)
            for output, start, end, target in blocks:
                block = hard[:, start:end]
                if output.is_discrete:
                    match &= block.argmax(1) == target.argmax()
                else:
                    match &= np.all(np.abs(block - target) <= tolerance, 1)
            accepted = hard[match]
            for output, start, end, target in blocks:
                accepted[:, start:end] = target
            kept.append(accepted)
            num_kept += len(accepted)
        attributes = np.concatenate(kept, axis=0)[:n]
        return ops.convert_to_numpy(
            _finish(attributes, self.attribute_outputs)
        ).astype("float32")

    def generate_dataframe(
        self, n=None, attributes=None, seed=None, batch_size=1000
    ):
        """`generate`, turned into a pandas DataFrame in real units by the
        model's `transformer` (see `keras_dg.data.TableTransformer`)."""
        if self.transformer is None:
            raise ValueError(
                "This model has no `transformer`: build the data with "
                "keras_dg.data.from_dataframe and pass its transformer to "
                "DoppelGANger(..., transformer=...), or use `generate`."
            )
        return self.transformer.inverse_transform(
            self.generate(n, attributes=attributes, seed=seed,
                          batch_size=batch_size)
        )

    def _check_given_attributes(self, attributes, n):
        attributes = np.asarray(attributes, dtype="float32")
        if attributes.ndim != 2 or attributes.shape[1] != (
            self.real_attribute_dim
        ):
            raise ValueError(
                f"`attributes` must have shape (n, {self.real_attribute_dim})"
                f" to match attribute_outputs. Received {attributes.shape}."
            )
        if n is not None and n != len(attributes):
            raise ValueError(
                f"`n`={n} disagrees with the {len(attributes)} rows of "
                "`attributes`; pass one of them."
            )
        check_attributes(attributes, self.attribute_outputs)
        return attributes

    def decode_tensors(
        self, features, attributes, gen_flag, given_attributes=None
    ):
        """Internal generator outputs to encoded series, in `keras.ops`.

        Drops the flag columns, undoes the per-sample normalization with the
        generated min/max (clipping each series to its generated range, see
        `renormalize_per_sample`), zeroes every step after each series' end,
        turns discrete blocks into one-hot, and clips continuous values to
        their normalization's range (the generated min/max can otherwise
        push them outside it; original issues #28 and #41).

        Returns:
            `(features [B, T, F], attributes [B, A_real])` tensors.
        """
        features = ops.cast(features, "float32")[..., : self.feature_dim]
        attributes = ops.cast(attributes, "float32")
        gen_flag = ops.cast(gen_flag, "float32")
        if self.self_norm:
            features = renormalize_per_sample(
                features,
                attributes[:, self.real_attribute_dim:],
                self.feature_outputs,
                epsilon=EPSILON,
            )
        features = _finish(features, self.feature_outputs)
        features = features * gen_flag[..., None]
        if given_attributes is not None:
            real_attributes = ops.cast(given_attributes, "float32")
        else:
            real_attributes = _finish(
                attributes[:, : self.real_attribute_dim],
                self.attribute_outputs,
            )
        return features, real_attributes

    def decode(self, features, attributes, gen_flag, given_attributes=None):
        """`decode_tensors` on arrays, as an encoded `TimeSeriesDataset`
        (the form `generate` returns)."""
        features, attributes = self.decode_tensors(
            features, attributes, gen_flag, given_attributes
        )
        return self._dataset(features, attributes, gen_flag)

    def _dataset(self, features, attributes, gen_flag):
        return TimeSeriesDataset(
            np.asarray(ops.convert_to_numpy(features), "float32"),
            np.asarray(ops.convert_to_numpy(attributes), "float32"),
            np.asarray(ops.convert_to_numpy(gen_flag), "float32"),
            self.feature_outputs,
            self.attribute_outputs,
            validate=False,
        )

    # --- Config -------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "feature_outputs": outputs_to_config(self.feature_outputs),
                "attribute_outputs": outputs_to_config(self.attribute_outputs),
                "max_sequence_len": self.max_sequence_len,
                "sample_len": self.sample_len,
                "aux_disc": self.aux_disc,
                "self_norm": self.self_norm,
                "num_packing": self.num_packing,
                "noise": self.noise,
                "feed_back": self.feed_back,
                "initial_state": self.initial_state,
                "initial_stddev": self.initial_stddev,
                "output_margin": self.output_margin,
                "d_rounds": self.d_rounds,
                "g_rounds": self.g_rounds,
                "shared_noise": self.shared_noise,
                "d_gp_coe": self.d_gp_coe,
                "attr_d_gp_coe": self.attr_d_gp_coe,
                "g_attr_d_coe": self.g_attr_d_coe,
                "g_lr": self.g_lr,
                "d_lr": self.d_lr,
                "attr_d_lr": self.attr_d_lr,
                "beta1": self.beta1,
                "gen_feature_num_layers": self.gen_feature_num_layers,
                "gen_feature_num_units": self.gen_feature_num_units,
                "gen_attribute_num_layers": self.gen_attribute_num_layers,
                "gen_attribute_num_units": self.gen_attribute_num_units,
                "disc_num_layers": self.disc_num_layers,
                "disc_num_units": self.disc_num_units,
                "attr_disc_num_layers": self.attr_disc_num_layers,
                "attr_disc_num_units": self.attr_disc_num_units,
                "attribute_latent_dim": self.attribute_latent_dim,
                "feature_latent_dim": self.feature_latent_dim,
                "fix_feature_network": self.fix_feature_network,
                "dp_noise_multiplier": self.dp_noise_multiplier,
                "dp_l2_norm_clip": self.dp_l2_norm_clip,
                "privacy": self.privacy,
                "seed": self.seed,
                "transformer": (
                    None
                    if self.transformer is None
                    else keras.saving.serialize_keras_object(self.transformer)
                ),
            }
        )
        return config


def _replicas(model):
    """Replicas of the model's `tf.distribute` strategy (1 elsewhere)."""
    strategy = getattr(model, "distribute_strategy", None)
    return getattr(strategy, "num_replicas_in_sync", 1)


def _deserialize_transformer(transformer):
    if transformer is None or not isinstance(transformer, dict):
        return transformer
    # Registers TableTransformer (and imports pandas) only when needed.
    from keras_dg.data import TableTransformer

    if "class_name" in transformer:
        return keras.saving.deserialize_keras_object(transformer)
    return TableTransformer.from_config(transformer)


def _finish(values, outputs):
    """One-hot discrete blocks, clip continuous blocks to their range."""
    values = harden(ops.convert_to_tensor(values), outputs)
    low, high = [], []
    for output, start, end in output_slices(outputs):
        bounds = (0.0, 1.0) if output.is_discrete else output.value_range
        low += [bounds[0]] * (end - start)
        high += [bounds[1]] * (end - start)
    low = ops.convert_to_tensor(np.array(low, "float32"), values.dtype)
    high = ops.convert_to_tensor(np.array(high, "float32"), values.dtype)
    return ops.minimum(ops.maximum(values, low), high)


_POOLS = {}
_POOLS_LOCK = threading.Lock()


def _generation_pools(workers):
    """`(drawer, runner)`: the process's thread pools of `generate`, one
    thread drawing noise and `workers` running chunks. They live as long as
    the process: new threads per call cost page faults on fresh per-thread
    memory (the first calls of a process ran at half speed at T=550)."""
    with _POOLS_LOCK:
        if "drawer" not in _POOLS:
            _POOLS["drawer"] = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="keras_dg_noise"
            )
        if workers not in _POOLS:
            _POOLS[workers] = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="keras_dg_generate"
            )
        return _POOLS["drawer"], _POOLS[workers]


# Rows per block of `generate`'s noise (see `_GenerationNoise`).
_NOISE_BLOCK_ROWS = 1000


class _GenerationNoise:
    """The generator noise of `generate`, reproducible row by row.

    Rows are drawn in blocks of `_NOISE_BLOCK_ROWS`; every block and input
    has its own NumPy stream, seeded by `(entropy, block, input)`. A row's
    noise thus depends only on the seed and the row's index, not on `n`,
    the chunk size, the thread that draws it or the backend.

    Args:
        shapes: `{input name: shape}` for one row (see `_noise_shapes`).
        n: int. Number of rows.
        entropy: the root entropy (`np.random.SeedSequence(seed).entropy`).
    """

    def __init__(self, shapes, n, entropy):
        self.shapes = {name: shape[1:] for name, shape in shapes.items()}
        self.n = n
        self.entropy = entropy
        self._cached = (None, None)  # (block index, its arrays)

    def _block(self, index):
        if self._cached[0] != index:
            rows = min(_NOISE_BLOCK_ROWS, self.n - index * _NOISE_BLOCK_ROWS)
            arrays = {}
            for i, (name, shape) in enumerate(self.shapes.items()):
                seed = np.random.SeedSequence(
                    self.entropy, spawn_key=(0, index, i)
                )
                stream = np.random.default_rng(seed)
                arrays[name] = stream.standard_normal(
                    (rows, *shape), dtype=np.float32
                )
            self._cached = (index, arrays)
        return self._cached[1]

    def rows(self, start, stop):
        """`{input name: array}` of rows `start` to `stop` (exclusive)."""
        parts = []
        for index in range(
            start // _NOISE_BLOCK_ROWS, (stop - 1) // _NOISE_BLOCK_ROWS + 1
        ):
            offset = index * _NOISE_BLOCK_ROWS
            lo = max(start - offset, 0)
            hi = min(stop - offset, _NOISE_BLOCK_ROWS)
            parts.append(
                {name: a[lo:hi] for name, a in self._block(index).items()}
            )
        if len(parts) == 1:
            return parts[0]
        return {
            name: np.concatenate([part[name] for part in parts], axis=0)
            for name in self.shapes
        }


def _pad_rows(inputs, rows):
    """Pads every array of `inputs` to `rows` rows by repeating its last row
    (the generator treats rows independently; the padding is dropped)."""
    missing = rows - len(next(iter(inputs.values())))
    if missing == 0:
        return inputs
    return {
        name: np.concatenate([a, np.repeat(a[-1:], missing, axis=0)], axis=0)
        for name, a in inputs.items()
    }
