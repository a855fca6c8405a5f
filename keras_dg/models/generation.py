"""Generation: `DoppelGANger.generate` and the decoding of its outputs.

`GenerationMixin` holds the model's sampling API (`generate`,
`generate_dataframe`, `decode`, `decode_tensors`) and the predict function
they run in; `DoppelGANger` inherits it. Generation draws its noise row by
row from the seed (`_GenerationNoise`), so the same seed gives the same
series whatever the chunk size, thread or backend; chunks run in
process-wide thread pools (`_generation_pools`). Fixed (partial)
conditioning samples the free attributes by rejection sampling of the
attribute generator (`_sample_attributes_given`).

Fast from the first call: on TensorFlow a request too small to pay back
XLA's compilation (fewer than `XLA_MIN_WORK` series x LSTM steps) runs a
plain graph function (traced, not compiled: a fresh process's first
`generate(1000)` took a fifth of the time), a bigger one the XLA-compiled
function (1.2-1.3x faster once compiled); the path depends only on the
request, so the same request gives the same bytes. On JAX, compiled
functions are kept across processes in JAX's persistent compilation cache
(`jax_cache_dir`; a fresh process's first call then skips the compilation).

`generate(n, length=L)` returns series longer (or shorter) than the
training window: the feature LSTM simply runs `ceil(L / sample_len)` steps,
carrying its state, with each series' attributes and (with `self_norm`) its
generated min/max for the whole length, so every series is one piece. The
noise of the steps past the window comes from streams of its own per window
(`_LongGenerationNoise`): the first `max_sequence_len` steps are those of
`generate(n)` with the same seed, and a shorter length is a prefix of a
longer one.
"""

import collections
import concurrent.futures
import contextlib
import os
import threading
import warnings
import weakref

import keras
import numpy as np
from keras import ops

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.dataset import check_attributes
from keras_dg.layers.output_heads import harden
from keras_dg.models.missing_draws import draw_channels
from keras_dg.models.value_grid import snap
from keras_dg.preprocessing.per_sample_normalization import EPSILON
from keras_dg.preprocessing.per_sample_normalization import (
    renormalize_per_sample,
)
from keras_dg.specs import output_slices
from keras_dg.validation import check_bool
from keras_dg.validation import check_int
from keras_dg.validation import check_positive_float
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

# Held while `generate` swaps the weight average in (`_generation_weights`).
_WEIGHTS_LOCK = threading.RLock()
# Chunks of `generate` drawn or running at once (two run on TensorFlow).
_CHUNKS_AHEAD = 4
# The decoded outputs `generate` keeps from each predict call.
_OUTPUT_KEYS = ("decoded_features", "decoded_attributes", "gen_flag")
# `generate(length=...)` goes up to this many times `max_sequence_len`.
MAX_LENGTH_WINDOWS = 100
# The predict functions of `generate` kept per model besides its own, one
# per number of LSTM steps and XLA setting (`_predict_function_for`).
_LENGTH_FUNCTIONS = weakref.WeakKeyDictionary()
_KEPT_LENGTH_FUNCTIONS = 4
# On TensorFlow, with `predict_jit_compile=None`, a request of at least this
# many series x LSTM steps runs XLA-compiled, a smaller one without XLA
# (`_generation_jit`). XLA's first chunk took 0.5-0.6 s more than the plain
# function's (0.83 vs 0.20 s at T=56, 0.81 vs 0.28 s at T=550) and then ran
# 1.31x / 1.21x as fast (2 cores; benchmarks/RESULTS.md): it pays back from
# about 1.9 million series x steps at T=56 (270,000 series) and 3.7 million
# at T=550 (67,000 series).
XLA_MIN_WORK = 2_000_000
# The folder of JAX's persistent compilation cache that keras-dg turns on
# (`jax_cache_dir`); "off" (or an empty value) leaves JAX's setting alone.
JAX_CACHE_ENV = "KERAS_DG_JAX_CACHE_DIR"
# The generator inputs that have a time axis (axis 1), and what one of
# their steps is: an LSTM step or a time step.
_TIME_INPUTS = {
    "feature_noise": "lstm", "step_noise": "time", "missing_uniform": "time",
}
# The input of `generate`'s predict function holding, per time step and
# missingness channel, the U(0, 1) value its category is drawn with (see
# `keras_dg.models.missing_draws`).
MISSING_UNIFORM = "missing_uniform"
# With it, per series and channel, the N(0, 1) level of the draws' copula
# (see `keras_dg.models.missing_draws`).
MISSING_LEVEL = "missing_level"


class GenerationMixin:
    """`generate` and decoding for `DoppelGANger` (needs its layers, specs
    and `_noise_shapes`)."""

    def generate(
        self,
        n=None,
        attributes=None,
        seed=None,
        batch_size=1000,
        fixed_attributes=None,
        tolerance=0.05,
        max_draws=1_000_000,
        use_ema=True,
        length=None,
        draw_missing=True,
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
                `generate(n, seed=s)` are `generate(m, seed=s)`; to float32
                round-off across backends, and on TensorFlow between a
                request under `XLA_MIN_WORK` series x LSTM steps, run without
                XLA, and a bigger one).
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
            use_ema: bool. Generate from the generators' weight average
                (the model's `ema_decay`) once it has been updated; False
                uses the raw weights. Without an average (`ema_decay=None`,
                or before the first training step) both are the same.
                Defaults to True.
            length: int or None. Time steps per series. None: the model's
                `max_sequence_len`, each series ending where its generation
                flag says (as trained). An int `L` from 1 to
                `MAX_LENGTH_WINDOWS` (100) times `max_sequence_len`: series
                of exactly `L` steps, each one piece: the LSTM runs
                `ceil(L / sample_len)` steps carrying its state (the last
                block is trimmed to `L`), with the series' own attributes and
                generated min/max throughout. The generation flag is not
                used then (the model learned where series end only within
                its window): every series runs all `L` steps, `gen_flag` is
                all ones. The first `max_sequence_len` steps are those of
                `generate(n, seed=seed)` when the model runs full length,
                and a shorter `length` is a prefix of a longer one (same
                seed). Train on windows of long series
                (`TimeSeriesDataset.windows`) to generate series longer than
                the windows. Defaults to None.
            draw_missing: bool. How missingness channels (feature outputs
                with `is_missing_channel`, from `missing="model"`) become
                one-hot: True draws each step's category from the
                generator's softmax (missing with its probability p, so a
                rare gap keeps its rate), False takes the argmax like the
                other discrete outputs (missing only where p > 0.5: most
                rare gaps vanish). The draw's U(0, 1) values are one more
                row-by-row noise input of the seed, so the seed contract
                above holds. No effect without channels. Defaults to True.

        Returns:
            A `TimeSeriesDataset` in the encoded space: continuous features in
            their normalization's range, discrete features and attributes
            one-hot, everything zero after each series' end, `gen_flag` and
            `lengths` from the generation flag (all `length` with `length`).
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        use_ema = check_bool(use_ema, "use_ema")
        draw_missing = check_bool(draw_missing, "draw_missing")
        length = self._check_length(length)
        if attributes is not None and fixed_attributes is not None:
            raise ValueError(
                "Pass either `attributes` (all of them) or `fixed_attributes`"
                " (some of them), not both."
            )
        if attributes is not None:
            attributes = self._check_given_attributes(attributes, n)
            n = len(attributes)
        n = check_positive_int(n, "n")
        if keras.config.backend() == "jax":
            _use_jax_cache()
        entropy = np.random.SeedSequence(
            check_seed(seed, allow_none=True)
        ).entropy
        with self._generation_weights(use_ema):
            return self._generate(
                n, attributes, fixed_attributes, tolerance, max_draws,
                batch_size, entropy, length, draw_missing,
            )

    def _check_length(self, length):
        """`length` as an int in 1..MAX_LENGTH_WINDOWS * T, or None."""
        if length is None:
            return None
        maximum = MAX_LENGTH_WINDOWS * self.max_sequence_len
        if (
            isinstance(length, (bool, np.bool_))
            or not isinstance(length, (int, np.integer))
            or not 1 <= length <= maximum
        ):
            raise ValueError(
                "`length` must be a whole number of time steps from 1 to "
                f"{maximum} ({MAX_LENGTH_WINDOWS} times the model's "
                f"max_sequence_len={self.max_sequence_len}), or None for "
                f"the model's own length. Received: length={length!r}"
            )
        return int(length)

    @contextlib.contextmanager
    def _generation_weights(self, use_ema):
        """Within the block, the generators hold the weight average (with
        `use_ema` and an updated average); the raw weights are put back
        after it. One generation at a time swaps (a lock), so concurrent
        `generate` calls see consistent weights; do not train meanwhile."""
        with _WEIGHTS_LOCK:
            if not (use_ema and self.has_ema_weights()):
                yield
                return
            sources = self.ema_sources
            raw = [np.array(ops.convert_to_numpy(v)) for v in sources]
            # Copies: on JAX a variable assigned another variable shares its
            # buffer, which a compiled call may not take twice.
            for variable, average in zip(sources, self.ema_variables):
                variable.assign(np.array(ops.convert_to_numpy(average)))
            try:
                yield
            finally:
                for variable, value in zip(sources, raw):
                    variable.assign(value)

    def has_ema_weights(self):
        """Whether the model holds a weight average that `generate` uses:
        `ema_decay` is set and the average was updated at least once."""
        return self.ema_decay is not None and (
            float(ops.convert_to_numpy(self.ema_updates)) > 0
        )

    def _generate(
        self, n, attributes, fixed_attributes, tolerance, max_draws,
        batch_size, entropy, length=None, draw_missing=True,
    ):
        if fixed_attributes is not None:
            rng = np.random.default_rng(
                np.random.SeedSequence(entropy, spawn_key=(1,))
            )
            attributes = self._sample_attributes_given(
                n, fixed_attributes, tolerance, max_draws, batch_size, rng
            )
        noise = self._generation_noise(n, entropy, length, draw_missing)

        def chunk_inputs(start, stop):
            inputs = noise.rows(start, stop)
            if attributes is not None:
                inputs["attributes"] = attributes[start:stop]
            if length is not None:
                # Its presence runs every series the full length (see
                # `DoppelGANger.call`); one value per row for `predict`.
                inputs["full_length"] = np.ones((stop - start,), "float32")
            return inputs

        with self._predict_function_for(length, rows=n):
            if _replicas(self) > 1:
                # `predict` splits the rows over the replicas.
                out = self.predict(
                    chunk_inputs(0, n), batch_size=batch_size, verbose=0
                )
                result = self._dataset(*(out[key] for key in _OUTPUT_KEYS))
            else:
                result = self._generate_chunks(
                    chunk_inputs, n, min(batch_size, n)
                )
        if length is not None and result.max_sequence_len != length:
            # The last LSTM step's block, trimmed to `length`.
            result = self._dataset(
                result.features[:, :length], result.attributes,
                result.gen_flag[:, :length],
            )
        return result

    def _lstm_steps(self, length):
        """LSTM steps that cover `length` time steps."""
        return -(-length // self.sample_len)

    def _generation_noise(self, n, entropy, length=None, draw_missing=True):
        """The row-by-row noise of `generate(n, length=length)` from the
        root `entropy` (`length` checked): the generator's noise, and with
        missingness channels their draws' uniforms and levels
        (`MISSING_UNIFORM` and `MISSING_LEVEL`, the last inputs; 0.5 and 0
        without `draw_missing`, which is the argmax)."""
        shapes = dict(self._noise_shapes(1))
        channels = self.missing_channel_count
        steps = self.max_sequence_len
        if channels and draw_missing:
            shapes[MISSING_UNIFORM] = (1, self.max_sequence_len, channels)
            shapes[MISSING_LEVEL] = (1, channels)
        if length is None:
            noise = _GenerationNoise(shapes, n, entropy)
        else:
            steps = self._lstm_steps(length) * self.sample_len
            noise = _LongGenerationNoise(
                shapes, n, entropy, self._lstm_steps(length),
                self.sample_len,
            )
        if channels and not draw_missing:
            return _ArgmaxChannels(noise, (steps, channels))
        return noise

    @property
    def missing_channel_count(self):
        """How many feature outputs are missingness channels."""
        return sum(o.is_missing_channel for o in self.feature_outputs)

    def calibrate_missing_draws(self, data, n=1000, seed=0):
        """Fits how `generate` draws the missingness channels to `data`
        (`missing_draws`: per channel a log-odds shift to the data's missing
        rate, and the series' share and step-to-step correlation of the
        draws' copula; see `keras_dg.models.missing_draws`), from the
        generator's p(missing) on `n` series (its weight average, as
        `generate` uses). `fit` calls it after training (on a
        `ParquetSeries`, with its pass's sample of series);
        `fit(..., calibrate_missing=False)` does not.

        Args:
            data: the training data: a `TimeSeriesDataset` or a dict with
                `features` and `gen_flag`, encoded.
            n: int. Series to generate: more than a small training set
                holds, so that the shift to its rate is not one draw's.
            seed: int. The generation's and the simulation's seed.

        Returns:
            `{feature output index: (shift, share, rho)}`.
        """
        from keras_dg.models.missing_draws import calibrate

        if not self.missing_channel_count:
            raise ValueError(
                "The model has no missingness channel to calibrate "
                "(Output.is_missing_channel; from_dataframe(..., "
                "missing='model') adds one per feature with gaps)."
            )
        if isinstance(data, TimeSeriesDataset):
            self.check_dataset(data)
            data = data.as_dict()
        features = np.asarray(data["features"])
        real_active = np.asarray(data["gen_flag"]) > 0.5
        if (
            features.ndim != 3
            or features.shape[-1] != self.feature_dim
            or real_active.shape != features.shape[:2]
        ):
            raise ValueError(
                "`data` must hold the model's encoded `features` [N, T, "
                f"{self.feature_dim}] and their `gen_flag` [N, T]. Received "
                f"features of shape {features.shape} and gen_flag of shape "
                f"{real_active.shape}."
            )
        probabilities, active = self._missing_probabilities(
            check_positive_int(n, "n"), seed
        )
        starts = [start for _, start, _ in output_slices(self.feature_outputs)]
        fitted = {
            i: calibrate(
                p, active, features[..., starts[i] + 1] > 0.5, real_active,
                seed=seed,
            )
            for i, p in probabilities.items()
        }
        self.missing_draws.assign(np.array(list(fitted.values()), "float32"))
        return fitted

    def _missing_probabilities(self, n, seed):
        """The generator's p(missing) on `n` series drawn with `seed` (its
        weight average, as `generate` uses): `{feature output index: [n,
        T]}` per missingness channel (`p1 / (p0 + p1)` of its softmax),
        and the series' active steps [n, T]."""
        noise = self._generation_noise(
            n, np.random.SeedSequence(seed).entropy, draw_missing=False
        ).rows(0, n)
        noise.pop(MISSING_UNIFORM)
        noise.pop(MISSING_LEVEL)
        with self._generation_weights(True):
            generated, _, gen_flag, _ = self.generate_internal(noise)
        generated = np.asarray(ops.convert_to_numpy(generated), "float64")
        probabilities = {}
        for i, (output, start, _) in enumerate(
            output_slices(self.feature_outputs)
        ):
            if output.is_missing_channel:
                present = generated[..., start]
                missing = generated[..., start + 1]
                probabilities[i] = missing / np.maximum(
                    present + missing, 1e-12
                )
        return probabilities, np.asarray(ops.convert_to_numpy(gen_flag)) > 0.5

    def _generation_jit(self, length, rows):
        """False: `rows` series of `length` run without XLA; None: with the
        model's own choice (`make_predict_function`).

        Only on TensorFlow with `predict_jit_compile=None` (the default,
        which compiles with XLA): a request of fewer than `XLA_MIN_WORK`
        series x LSTM steps cannot pay XLA's compilation back and runs a
        plain graph function. The choice depends only on the request
        (`rows` and `length`; None rows: a request of unknown size, the
        model's own choice), so the same request takes the same path; the
        two paths agree to float32 round-off."""
        if (
            rows is None
            or self.predict_jit_compile is not None
            or keras.config.backend() != "tensorflow"
            or _replicas(self) > 1
            or self.run_eagerly
            or self.jit_compile
        ):
            return None
        steps = self._lstm_steps(
            self.max_sequence_len if length is None else length
        )
        return None if rows * steps >= XLA_MIN_WORK else False

    @contextlib.contextmanager
    def _predict_function_for(self, length, rows=None):
        """Within the block, the predict function for `rows` series of
        `length` (the model's own is put back after it).

        With a `length`, a function of its own: the LSTM's number of steps
        is read from the noise's static shape, which TensorFlow's retracing
        would otherwise relax to unknown. A request too small for XLA's
        compilation to pay back runs a function without XLA
        (`_generation_jit`). The functions are kept per number of LSTM
        steps and XLA setting (the last `_KEPT_LENGTH_FUNCTIONS` of each)
        until the model's own predict function changes (`compile`,
        `make_predict_function(force=True)`; its first making keeps
        them). Called under
        `_WEIGHTS_LOCK`."""
        jit = self._generation_jit(length, rows)
        if length is None and jit is None:
            yield
            return
        saved = self.predict_function
        kept = _LENGTH_FUNCTIONS.get(self)
        if kept is None or (
            kept["base"] is not None and kept["base"] is not saved
        ):
            kept = _LENGTH_FUNCTIONS[self] = {"base": saved, "functions": {}}
        # The model's own function made since (by a bigger request).
        kept["base"] = saved
        key = (None if length is None else self._lstm_steps(length), jit)
        self.predict_function = kept["functions"].pop(key, None)
        if self.predict_function is None and jit is False:
            self._make_plain_predict_function()
        try:
            yield
            if self.predict_function is not None:
                functions = kept["functions"]
                functions[key] = self.predict_function
                same = [k for k in functions if k[1] == jit]
                for old in same[:-_KEPT_LENGTH_FUNCTIONS]:
                    del functions[old]
        finally:
            self.predict_function = saved

    def _make_plain_predict_function(self):
        """Makes `self.predict_function` a predict function without XLA
        (`predict_jit_compile` is set back after it)."""
        setting = self.predict_jit_compile
        self.predict_jit_compile = False
        try:
            return self.make_predict_function(force=True)
        finally:
            self.predict_jit_compile = setting

    def _generate_chunks(self, chunk_inputs, n, size):
        """`n` rows in chunks of `size`, `chunk_inputs(start, stop)` giving
        a chunk's inputs, as a `TimeSeriesDataset`.

        One compiled predict call per chunk (`predict_on_batch`): the
        generator forward and the decoding run in one graph, without the
        input pipeline `predict` builds (half the time at 5,000 series).
        Every chunk has the same number of rows (the last one is padded),
        so the predict function compiles once. One thread draws the noise
        ahead (NumPy and the backends release the GIL: noise was a fifth
        of the time at T=56); on TensorFlow two chunks run at once, which
        keeps both cores busy (it paid at T=550 on 2 cores). JAX's and
        PyTorch's `predict_on_batch` update model state: one at a time.
        """
        if keras.config.backend() == "jax":
            _use_jax_cache()
        self.make_predict_function()  # Built once, before any thread.

        def run(start, pending_inputs):
            stop = min(start + size, n)
            out = self.predict_on_batch(
                _pad_rows(pending_inputs.result(), size)
            )
            return {key: out[key][: stop - start] for key in _OUTPUT_KEYS}

        drawer, runner = _generation_pools(
            2 if keras.config.backend() == "tensorflow" else 1
        )
        # At most `_CHUNKS_AHEAD` chunks are drawn or running at a time:
        # submitting them all at once drew the noise of every chunk up
        # front (generate(1_000_000) peaked at +3.6 GiB at the MBA shape).
        chunks, pending = [], collections.deque()
        for start in range(0, n, size):
            if len(pending) == _CHUNKS_AHEAD:
                chunks.append(pending.popleft().result())
            pending.append(runner.submit(
                run, start,
                drawer.submit(chunk_inputs, start, min(start + size, n)),
            ))
        chunks += [chunk.result() for chunk in pending]
        return self._dataset(
            *(
                np.concatenate([chunk[key] for chunk in chunks], axis=0)
                for key in _OUTPUT_KEYS
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
            # A key names an attribute output by its index.
            index = check_int(
                index, "fixed_attributes key", minimum=0,
                maximum=len(slices) - 1,
            )
            output, start, end = slices[index]
            name = f"fixed_attributes[{index}]"
            if output.is_discrete and np.ndim(value) == 0:
                # A category index (or, below, a one-hot vector).
                value = check_int(
                    value, name, minimum=0, maximum=output.dim - 1
                )
                target = np.eye(output.dim, dtype="float32")[value]
            else:
                target = np.asarray(value, dtype="float32").reshape(-1)
                if target.shape != (output.dim,):
                    raise ValueError(
                        f"`{name}` must have {output.dim} value(s) for "
                        f"{output!r}. Received: {name}={value!r}"
                    )
                check_attributes(target[None], [output], name)
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
        self, n=None, attributes=None, seed=None, batch_size=1000,
        length=None, draw_missing=True,
    ):
        """`generate` (from the weight average, see `generate`'s
        `use_ema`), turned into a pandas DataFrame in real units by the
        model's `transformer` (see `keras_dg.data.TableTransformer`);
        `length` gives series of that many steps, `draw_missing=False`
        takes the argmax of missingness channels instead of drawing them
        (see `generate`)."""
        if self.transformer is None:
            raise ValueError(
                "This model has no `transformer`: build the data with "
                "keras_dg.data.from_dataframe and pass its transformer to "
                "DoppelGANger(..., transformer=...), or use `generate`."
            )
        return self.transformer.inverse_transform(
            self.generate(n, attributes=attributes, seed=seed,
                          batch_size=batch_size, length=length,
                          draw_missing=draw_missing)
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
        self, features, attributes, gen_flag, given_attributes=None,
        missing_uniform=None, missing_level=None,
    ):
        """Internal generator outputs to encoded series, in `keras.ops`.

        Drops the flag columns, undoes the per-sample normalization with the
        generated min/max (clipping each series to its generated range, see
        `renormalize_per_sample`), zeroes every step after each series' end,
        turns discrete blocks into one-hot, clips continuous values to
        their normalization's range (the generated min/max can otherwise
        push them outside it; original issues #28 and #41), and rounds
        the columns with a `feature_grid` to it. Missingness
        channels are drawn with `missing_uniform` [B, T, channels] and
        `missing_level` [B, channels] (missing where u < p(missing), after
        the model's calibration `missing_draws`; see
        `keras_dg.models.missing_draws`); without them they take the argmax
        like every discrete block.

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
        drawn = None
        if missing_uniform is not None and self.missing_channel_count:
            drawn = draw_channels(
                features, self.feature_outputs, missing_uniform,
                level=missing_level,
                draws=None if missing_level is None
                else ops.convert_to_tensor(self.missing_draws),
            )
        features = _finish(features, self.feature_outputs, drawn)
        if self.feature_grid is not None:
            features = snap(features, self.feature_grid)
        features = features * gen_flag[..., None]
        if given_attributes is not None:
            real_attributes = ops.cast(given_attributes, "float32")
        else:
            real_attributes = _finish(
                attributes[:, : self.real_attribute_dim],
                self.attribute_outputs,
            )
        return features, real_attributes

    def decode(
        self, features, attributes, gen_flag, given_attributes=None,
        missing_uniform=None, missing_level=None,
    ):
        """`decode_tensors` on arrays, as an encoded `TimeSeriesDataset`
        (the form `generate` returns)."""
        features, attributes = self.decode_tensors(
            features, attributes, gen_flag, given_attributes,
            missing_uniform, missing_level,
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
        scope = contextlib.nullcontext()
        if stateless:
            # The decoding reads `missing_draws`: its value in this call's
            # state, not the one traced with the function.
            trainable, non_trainable = args[0]
            scope = keras.StatelessScope(state_mapping=[
                *zip(self.trainable_variables, trainable),
                *zip(self.non_trainable_variables, non_trainable),
            ])
        with scope:
            features, attributes = self.decode_tensors(
                outputs["features"],
                outputs["attributes"],
                outputs["gen_flag"],
                given_attributes=inputs.get("attributes"),
                missing_uniform=inputs.get(MISSING_UNIFORM),
                missing_level=inputs.get(MISSING_LEVEL),
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


def _replicas(model):
    """Replicas of the model's `tf.distribute` strategy (1 elsewhere)."""
    strategy = getattr(model, "distribute_strategy", None)
    return getattr(strategy, "num_replicas_in_sync", 1)


def _finish(values, outputs, drawn=None):
    """One-hot discrete blocks, clip continuous blocks to their range;
    `drawn` (`{output index: one-hot block}`, see `draw_channels`)
    replaces those outputs' argmax."""
    values = harden(ops.convert_to_tensor(values), outputs)
    if drawn:
        pieces = [
            drawn[i] if i in drawn else values[..., start:end]
            for i, (_, start, end) in enumerate(output_slices(outputs))
        ]
        values = ops.concatenate(pieces, axis=-1)
    low, high = [], []
    for output, start, end in output_slices(outputs):
        bounds = (0.0, 1.0) if output.is_discrete else output.value_range
        low += [bounds[0]] * (end - start)
        high += [bounds[1]] * (end - start)
    low = ops.convert_to_tensor(np.array(low, "float32"), values.dtype)
    high = ops.convert_to_tensor(np.array(high, "float32"), values.dtype)
    return ops.minimum(ops.maximum(values, low), high)


def jax_cache_dir():
    """The folder of the persistent compilation cache keras-dg turns on for
    JAX: `$KERAS_DG_JAX_CACHE_DIR`, else `keras_dg/jax_cache` in the user's
    cache folder (`$XDG_CACHE_HOME`, else `~/.cache`); None when the
    variable is `off` or empty (keras-dg leaves JAX's setting alone).

    Raises:
        ValueError: when the variable names a file.
    """
    value = os.environ.get(JAX_CACHE_ENV)
    if value is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache"
        )
        return os.path.join(base, "keras_dg", "jax_cache")
    if value.strip().lower() in ("", "off"):
        return None
    if os.path.exists(value) and not os.path.isdir(value):
        raise ValueError(
            f"`{JAX_CACHE_ENV}` must name a folder for JAX's compilation "
            f"cache, or be 'off', but {value!r} is a file. Received: "
            f"{JAX_CACHE_ENV}={value!r}"
        )
    return os.path.abspath(value)


_JAX_CACHE_LOCK = threading.Lock()
_JAX_CACHE_DONE = []
# Size limit of the cache folder keras-dg sets (about 0.5 MiB a function).
_JAX_CACHE_MAX_BYTES = 1 << 30


def _use_jax_cache():
    """Turns JAX's persistent compilation cache on in `jax_cache_dir()`,
    once per process, unless JAX has a cache folder already (its own
    setting, e.g. `JAX_COMPILATION_CACHE_DIR`, wins). A fresh process then
    loads `generate`'s compiled function instead of compiling it (0.3 s of
    CPU instead of 1.6 s at T=56). Functions that compile in 0.1 s or more
    are kept (JAX's default: 1 s, more than the generator takes on a fast
    machine); the folder holds at most `_JAX_CACHE_MAX_BYTES` (JAX's
    default: no limit). A folder that cannot be made is warned about and
    skipped."""
    folder = jax_cache_dir()  # Checked at every call.
    with _JAX_CACHE_LOCK:
        if _JAX_CACHE_DONE:
            return
        _JAX_CACHE_DONE.append(True)
        import jax

        if folder is None or jax.config.jax_compilation_cache_dir:
            return
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            warnings.warn(
                f"keras-dg could not make JAX's compilation cache folder "
                f"{folder!r} ({e}); generation compiles in every process. "
                f"Set {JAX_CACHE_ENV} to a writable folder, or to 'off'.",
                stacklevel=3,
            )
            return
        jax.config.update("jax_compilation_cache_dir", folder)
        if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:
            jax.config.update(
                "jax_persistent_cache_min_compile_time_secs", 0.1
            )
        if jax.config.jax_compilation_cache_max_size == -1:
            # JAX's default keeps every entry; least recently used ones go.
            jax.config.update(
                "jax_compilation_cache_max_size", _JAX_CACHE_MAX_BYTES
            )


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


# The noise per time step is `sample_len` times the LSTM's, drawn on one
# thread beside generation: by Box-Muller, 14 against the ziggurat's 22 ms
# for 1,000 page-view rows (T=550 x 5). Generation 0.97-1.25x at page-view,
# 1.01-1.08x at MBA (benchmarks/step_noise_draw.py, RESULTS.md).
_BOX_MULLER_INPUTS = ("step_noise",)


def _ziggurat(stream, shape):
    return stream.standard_normal(shape, dtype=np.float32)


def _uniform(stream, shape):
    """U[0, 1) float32 values; row after row of the stream, as
    `_box_muller`."""
    return stream.random(shape, dtype=np.float32)


def _box_muller(stream, shape):
    """Standard normal float32 values [rows, ...] from float32 uniforms
    (Box-Muller; float32 uniforms bound the values at 5.8 standard
    deviations). Each row takes the next uniforms of the stream, so the
    first k rows of a bigger draw are a draw of k rows (a row's noise does
    not depend on how many rows are drawn)."""
    rows, width = shape[0], int(np.prod(shape[1:]))
    half = (width + 1) // 2
    uniform = stream.random((rows, 2, half), dtype=np.float32)
    # 1 - u lies in (0, 1]: the log is finite.
    radius = np.sqrt(
        np.float32(-2.0) * np.log(np.float32(1.0) - uniform[:, 0])
    )
    angle = np.float32(2.0 * np.pi) * uniform[:, 1]
    out = np.empty((rows, 2 * half), dtype=np.float32)
    np.multiply(radius, np.cos(angle), out=out[:, :half])
    np.multiply(radius, np.sin(angle), out=out[:, half:])
    return out[:, :width].reshape(shape)


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

    def __init__(self, shapes, n, entropy, key=(0,)):
        self.shapes = {name: shape[1:] for name, shape in shapes.items()}
        self.n = n
        self.entropy = entropy
        self.key = tuple(key)
        self._cached = (None, None)  # (block index, its arrays)

    def _block(self, index):
        if self._cached[0] != index:
            rows = min(_NOISE_BLOCK_ROWS, self.n - index * _NOISE_BLOCK_ROWS)
            arrays = {}
            for i, (name, shape) in enumerate(self.shapes.items()):
                seed = np.random.SeedSequence(
                    self.entropy, spawn_key=(*self.key, index, i)
                )
                stream = np.random.default_rng(seed)
                draw = (
                    _box_muller if name in _BOX_MULLER_INPUTS
                    else _uniform if name == MISSING_UNIFORM
                    else _ziggurat
                )
                arrays[name] = draw(stream, (rows, *shape))
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


class _LongGenerationNoise:
    """The noise of `generate(length=...)`, reproducible row by row.

    The first window (the model's `max_sequence_len`) is
    `_GenerationNoise`'s, so the first steps are those of `generate`
    without `length`; the time inputs of each further window `w` (their
    LSTM-step and time-step noise) come from streams of their own, seeded
    by `(entropy, 2, w, block, input)`. A row's noise thus depends only on
    the seed and its index, and a shorter length's is a prefix of a longer
    one's.

    Args:
        shapes: `{input name: shape}` for one row (see `_noise_shapes`).
        n: int. Number of rows.
        entropy: the root entropy.
        num_steps: int. LSTM steps to cover.
        sample_len: int. Time steps per LSTM step.
    """

    def __init__(self, shapes, n, entropy, num_steps, sample_len):
        self.window = _GenerationNoise(shapes, n, entropy)
        self.sizes = {
            name: num_steps * (sample_len if unit == "time" else 1)
            for name, unit in _TIME_INPUTS.items()
            if name in shapes
        }
        window_steps = shapes["feature_noise"][1]
        windows = -(-num_steps // window_steps)
        time_shapes = {name: shapes[name] for name in self.sizes}
        self.extensions = [
            _GenerationNoise(time_shapes, n, entropy, key=(2, w))
            for w in range(1, windows)
        ]

    def rows(self, start, stop):
        """`{input name: array}` of rows `start` to `stop` (exclusive)."""
        inputs = dict(self.window.rows(start, stop))
        extensions = [e.rows(start, stop) for e in self.extensions]
        for name, size in self.sizes.items():
            parts = [inputs[name]] + [e[name] for e in extensions]
            inputs[name] = np.concatenate(parts, axis=1)[:, :size]
        return inputs


class _ArgmaxChannels:
    """`noise` with `MISSING_UNIFORM` all 0.5 and `MISSING_LEVEL` all 0
    (`generate(..., draw_missing=False)`): the channels' argmax (of the
    calibrated p), through the same predict function as the draw.

    Args:
        noise: `_GenerationNoise` or `_LongGenerationNoise` without
            `MISSING_UNIFORM`.
        shape: `(time steps, channels)` of one row.
    """

    def __init__(self, noise, shape):
        self.noise = noise
        self.shape = tuple(shape)

    def rows(self, start, stop):
        inputs = dict(self.noise.rows(start, stop))
        inputs[MISSING_UNIFORM] = np.full(
            (stop - start, *self.shape), 0.5, "float32"
        )
        inputs[MISSING_LEVEL] = np.zeros(
            (stop - start, self.shape[-1]), "float32"
        )
        return inputs


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
