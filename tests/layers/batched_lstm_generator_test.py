import numpy as np
from keras import ops
from keras.ops import convert_to_numpy as to_numpy
from keras.ops import reshape as ops_reshape
import pytest

from keras_dg import Output
from keras_dg.layers import BatchedLSTMGenerator
from tests.harness import run_layer_test

OUTPUTS = [Output("CONTINUOUS", 1, "ZERO_ONE"), Output("DISCRETE", 2)]


def _layer(**kwargs):
    config = dict(max_sequence_len=8, sample_len=2, num_units=4, seed=0)
    config.update(kwargs)
    return BatchedLSTMGenerator(OUTPUTS, **config)


def _condition(n=16):
    return np.random.default_rng(0).normal(size=(n, 3)).astype("float32")


@pytest.mark.parametrize("feed_back", [False, True])
@pytest.mark.parametrize("initial_state", ["random", "zero", "variable"])
def test_shapes(feed_back, initial_state):
    layer = _layer(feed_back=feed_back, initial_state=initial_state)
    features, flag, lengths = layer(_condition())
    assert tuple(features.shape) == (16, 8, 5)
    assert tuple(flag.shape) == (16, 8)
    assert tuple(lengths.shape) == (16,)
    assert layer.compute_output_shape((16, 3)) == ((16, 8, 5), (16, 8), (16,))


def _check_flags_and_masking(layer, condition, **call_kwargs):
    features, flag, lengths = (to_numpy(x) for x in layer(condition, **call_kwargs))
    t, s = layer.max_sequence_len, layer.sample_len
    probs = features[..., -2:]
    for i in range(len(features)):
        length = lengths[i]
        assert 1 <= length <= t
        np.testing.assert_array_equal(flag[i], np.arange(t) < length)
        # The last active step is the first whose flag argmax is "stop".
        stops = np.flatnonzero(probs[i, :, 1] > probs[i, :, 0])
        active_stops = stops[stops < length]
        if length < t:
            assert active_stops.tolist() == [length - 1]
        # Blocks after the end are zero; the end's block is kept whole.
        end_block = (length - 1) // s
        assert np.all(features[i, (end_block + 1) * s:] == 0)
        assert np.all(features[i, : (end_block + 1) * s, -2:].sum(-1) > 0.99)
    return lengths


def test_generation_flag_ends_series_and_masks_blocks():
    layer = _layer(initial_state="random")
    lengths = _check_flags_and_masking(layer, _condition(64))
    assert len(set(lengths.tolist())) > 1  # an untrained LSTM varies


def test_feed_back_rollout_masks_the_same_way():
    lengths = _check_flags_and_masking(_layer(feed_back=True), _condition(64))
    assert lengths.min() >= 1


def test_given_noise_and_initial_state_are_deterministic():
    layer = _layer()
    condition = _condition(4)
    noise = np.random.default_rng(1).normal(size=(4, 4, 5)).astype("float32")
    state = np.random.default_rng(2).normal(size=(4, 1, 2, 4)).astype("float32")
    a = layer(condition, noise=noise, initial_state=state)[0]
    b = layer(condition, noise=noise, initial_state=state)[0]
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    c = layer(condition)[0]
    assert not np.allclose(to_numpy(a), to_numpy(c))


def _reference_features(layer, condition, noise, state, feed_back):
    """The layer's features computed with Keras' own LSTM cell: the input
    of step i is [condition, noise_i (, previous step's outputs)]."""
    from keras import ops

    from keras_dg.layers.output_heads import apply_output_activations

    n, s, k = len(condition), layer.sample_len, layer.step_dim
    states = [[state[:, i, 0], state[:, i, 1]] for i in range(layer.num_layers)]
    previous = np.zeros((n, s * k), "float32")
    steps = []
    for i in range(layer.num_steps):
        x = np.concatenate(
            [condition, noise[:, i]] + ([previous] if feed_back else []), 1
        )
        for j, cell in enumerate(layer.cells):
            x, states[j] = cell(x, states[j])
        step = ops.reshape(layer.heads(x), (n, s, k))
        step = to_numpy(apply_output_activations(
            step, layer.step_outputs, margin=layer.output_margin
        ))
        previous = step.reshape(n, -1)
        steps.append(step)
    features = np.stack(steps, 1).reshape(n, layer.max_sequence_len, k)
    return to_numpy(layer._end_series(ops.convert_to_tensor(features))[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(unroll=False),
        dict(num_layers=2),
        dict(num_layers=2, unroll=False),
        dict(feed_back=True),
        dict(feed_back=True, num_layers=2),
        dict(output_margin=0.5),
        dict(feed_back=True, output_margin=0.5),
    ],
)
def test_lstm_matches_keras_lstm_cell(kwargs):
    # The layer computes the gates itself (condition share once, inputs off
    # the critical path); the result must equal stepping Keras' LSTMCell.
    layer = _layer(**kwargs)
    rng = np.random.default_rng(3)
    condition = _condition(6)
    noise = rng.normal(size=(6, 4, 5)).astype("float32")
    state = rng.normal(size=(6, layer.num_layers, 2, 4)).astype("float32")
    features = to_numpy(layer(condition, noise=noise, initial_state=state)[0])
    expected = _reference_features(
        layer, condition, noise, state, kwargs.get("feed_back", False)
    )
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


def test_noise_is_one_vector_per_lstm_step():
    layer = _layer(noise_dim=3)
    layer(_condition(2))
    # Input = condition (3) + per-step noise (3); L = T / S = 4 steps.
    assert layer.cells[0].kernel.shape == (6, 16)
    assert layer.num_steps == 4
    # One dense layer holds the S x K heads: S * (F + 2) columns.
    assert layer.heads.kernel.shape == (4, 2 * 5)


def test_variable_initial_state_is_learned():
    layer = _layer(initial_state="variable", initial_stddev=0.02)
    layer(_condition(2))
    names = sorted(w.name for w in layer.trainable_weights)
    assert "initial_c_0" in names and "initial_h_0" in names


@pytest.mark.parametrize("initial_state", ["variable", "random"])
def test_layer_round_trips(tmp_path, initial_state):
    rng = np.random.default_rng(1)
    # Given noise (and initial state): the outputs are deterministic.
    call_kwargs = {"noise": rng.normal(size=(4, 4, 5)).astype("float32")}
    if initial_state == "random":
        call_kwargs["initial_state"] = rng.normal(size=(4, 2, 2, 4)).astype(
            "float32"
        )
    layer = run_layer_test(
        BatchedLSTMGenerator,
        dict(outputs=OUTPUTS, max_sequence_len=8, sample_len=2, num_units=4,
             seed=0, feed_back=True, initial_state=initial_state,
             num_layers=2, output_margin=0.01, name="lstm"),
        _condition(4),
        call_kwargs=call_kwargs,
        expected_output_shape=[(4, 8, 5), (4, 8), (4,)],
        tmp_path=tmp_path,
    )
    clone = BatchedLSTMGenerator.from_config(layer.get_config())
    assert clone.outputs == OUTPUTS
    assert clone.output_margin == 0.01


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_len=3), "Valid values"),
        (dict(noise=False, feed_back=False), "At least one of"),
        (dict(initial_state="learned"), "initial_state"),
        (dict(num_layers=0), "num_layers"),
        (dict(output_margin=-1.0), "output_margin"),
        (dict(step_noise_dim=-1), "step_noise_dim"),
        (dict(block_heads="per_step"), "block_heads"),
        (dict(block_heads=[2]), "indices in 0..1"),
        (dict(block_heads=[0, 0]), "distinct"),
        (dict(block_heads=[True]), "block_heads"),
        (dict(interpolate=1), "interpolate"),
        (dict(interpolate="cubic"), "interpolate"),
        (dict(interpolate=None), "interpolate"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _layer(**kwargs)


def test_gen_flag_output_is_rejected():
    with pytest.raises(ValueError, match="generation flag"):
        BatchedLSTMGenerator(
            [Output("DISCRETE", 2, is_gen_flag=True)],
            max_sequence_len=4, sample_len=2,
        )


@pytest.mark.parametrize(
    "steps, training, scans",
    [(20, True, False), (20, False, True), (8, False, False), (70, True, True)],
)
def test_automatic_unrolling_depends_on_steps_and_training(
    monkeypatch, steps, training, scans
):
    from keras import ops

    calls = []
    scan = ops.scan

    def recording_scan(*args, **kwargs):
        calls.append(1)
        return scan(*args, **kwargs)

    monkeypatch.setattr(ops, "scan", recording_scan)
    layer = _layer(max_sequence_len=steps, sample_len=1)
    features, _, _ = layer(_condition(3), training=training)
    assert tuple(features.shape) == (3, steps, 5)  # 3 columns + the flag's 2
    assert bool(calls) == scans


def _given_noise(n=4, step_noise_dim=0, seed=2):
    rng = np.random.default_rng(seed)
    kwargs = {
        "noise": rng.normal(size=(n, 4, 5)).astype("float32"),
        "initial_state": rng.normal(size=(n, 1, 2, 4)).astype("float32"),
    }
    if step_noise_dim:
        kwargs["step_noise"] = rng.normal(size=(n, 8, step_noise_dim)).astype(
            "float32"
        )
    return kwargs


@pytest.mark.parametrize(
    "options",
    [
        dict(block_heads="shared", interpolate=True, step_noise_dim=3),
        dict(block_heads=[0], step_noise_dim=2),
        dict(step_noise_dim=2, feed_back=True),
        dict(step_noise_dim=2, feed_back=True, block_heads=[0],
             interpolate=True),
        dict(block_heads=[0], interpolate="smooth", step_noise_dim=2),
        dict(interpolate="auto", step_noise_dim=2),
        dict(step_noise_dim=2, feed_back=True, interpolate="smooth"),
    ],
)
def test_block_options_round_trip(tmp_path, options):
    layer = run_layer_test(
        BatchedLSTMGenerator,
        dict(outputs=OUTPUTS, max_sequence_len=8, sample_len=2, num_units=4,
             seed=0, name="lstm", **options),
        _condition(4),
        call_kwargs=_given_noise(step_noise_dim=options["step_noise_dim"]),
        expected_output_shape=[(4, 8, 5), (4, 8), (4,)],
        tmp_path=tmp_path,
    )
    assert BatchedLSTMGenerator.from_config(layer.get_config()).get_config() \
        == layer.get_config()


def test_shared_heads_have_no_per_position_weights():
    """With shared heads and no step noise, a constant hidden state gives
    every position of a block the same logits: no block template."""
    layer = _layer(block_heads="shared", noise_dim=1)
    layer(_condition(2))
    assert tuple(layer.heads.kernel.shape) == (4, 5)
    hidden = np.ones((4, 2, 4), "float32")
    logits = to_numpy(layer._block_logits(hidden, 2)).reshape(2, 4, 2, 5)
    np.testing.assert_allclose(logits[:, :, 0], logits[:, :, 1], rtol=1e-6)


def test_listed_outputs_get_per_position_heads_only():
    layer = _layer(block_heads=[0])
    layer(_condition(2))
    # Output 0 is column 0 of the 5 step columns (1 + 2 + the 2 flags).
    np.testing.assert_array_equal(to_numpy(layer.position_mask), [1, 0, 0, 0, 0])
    rng = np.random.default_rng(0)
    layer.position_heads.kernel.assign(rng.normal(size=(4, 10)))
    hidden = np.ones((4, 2, 4), "float32")
    logits = to_numpy(layer._block_logits(hidden, 2)).reshape(2, 4, 2, 5)
    assert not np.allclose(logits[..., 0, 0], logits[..., 1, 0])
    np.testing.assert_allclose(logits[..., 0, 1:], logits[..., 1, 1:], rtol=1e-6)


def test_a_period_ties_the_heads_of_its_repeats_in_a_block():
    # S=4, output 0 with a period of 2: positions 0 and 2 (1 and 3) share
    # one head, 0 and 1 do not.
    layer = _layer(block_heads="auto", sample_len=4)
    layer(_condition(2))
    layer.set_periodic_outputs([0], periods=[2])
    np.testing.assert_array_equal(to_numpy(layer.position_mask), [2, 0, 0, 0, 0])
    rng = np.random.default_rng(0)
    layer.position_heads.kernel.assign(rng.normal(size=(4, 20)))
    hidden = rng.normal(size=(2, 2, 4)).astype("float32")
    logits = to_numpy(layer._block_logits(hidden, 2)).reshape(2, 2, 4, 5)
    np.testing.assert_allclose(logits[..., 0, 0], logits[..., 2, 0], rtol=1e-6)
    np.testing.assert_allclose(logits[..., 1, 0], logits[..., 3, 0], rtol=1e-6)
    assert not np.allclose(logits[..., 0, 0], logits[..., 1, 0])
    # The shared head's columns stay one per block.
    np.testing.assert_allclose(logits[..., 0, 1:], logits[..., 3, 1:], rtol=1e-6)
    # Its period S: a head per position, as without periods.
    layer.set_periodic_outputs([0], periods=[4])
    np.testing.assert_array_equal(to_numpy(layer.position_mask), [1, 0, 0, 0, 0])
    logits = to_numpy(layer._block_logits(hidden, 2)).reshape(2, 2, 4, 5)
    assert not np.allclose(logits[..., 0, 0], logits[..., 2, 0])
    for periods in ([3], [1], [2, 2], [True]):
        with pytest.raises(ValueError, match="`periods` must hold"):
            layer.set_periodic_outputs([0], periods=periods)


def test_auto_heads_start_shared_until_outputs_are_set(tmp_path):
    layer = _layer(block_heads="auto")
    layer(_condition(2))
    np.testing.assert_array_equal(to_numpy(layer.position_mask), [0] * 5)
    layer.set_periodic_outputs([1])
    np.testing.assert_array_equal(to_numpy(layer.position_mask), [0, 1, 1, 0, 0])
    with pytest.raises(ValueError, match="indices in 0..1"):
        layer.set_periodic_outputs([3])
    with pytest.raises(ValueError, match="block_heads='auto'"):
        shared = _layer(block_heads="shared")
        shared(_condition(2))
        shared.set_periodic_outputs([0])


def test_interpolation_ramps_from_the_previous_block():
    layer = _layer(block_heads="shared", interpolate=True)
    layer(_condition(1))
    hidden = np.stack(
        [np.full((1, 4), v, "float32") for v in (0.0, 1.0, 1.0, -1.0)]
    )
    logits = layer._block_logits(hidden, 1)  # [1, 4 blocks, 2, 5]
    previous = ops.concatenate([logits[:, :1], logits[:, :-1]], axis=1)
    blocks = to_numpy(ops_reshape(layer._interpolate(logits, previous), (4, 2, 5)))
    head = to_numpy(layer.heads(hidden))[:, 0]  # [4 blocks, 5]
    # Block 0 has no previous block: its own logits at every position.
    np.testing.assert_allclose(blocks[0], [head[0], head[0]], rtol=1e-5)
    # Block 1: halfway from block 0 at position 0, block 1 at position 1.
    np.testing.assert_allclose(blocks[1, 0], (head[0] + head[1]) / 2, rtol=1e-5)
    np.testing.assert_allclose(blocks[1, 1], head[1], rtol=1e-5)


def _quadratic_b_spline(control_points, sample_len):
    """Position j of block i: the uniform quadratic B-spline segment of
    control points i - 2, i - 1, i at t = (j + 1) / S (NumPy reference)."""
    out = []
    for i in range(2, len(control_points)):
        a, b, c = control_points[i - 2:i + 1]
        for j in range(sample_len):
            t = (j + 1) / sample_len
            out.append(
                (1 - t) ** 2 / 2 * a + (1 + 2 * t - 2 * t**2) / 2 * b
                + t**2 / 2 * c
            )
    return np.stack(out)


def test_smooth_interpolation_is_a_quadratic_b_spline_of_the_blocks():
    layer = _layer(block_heads="shared", interpolate="smooth", sample_len=4)
    layer(_condition(1))
    hidden = np.stack(
        [np.full((1, 4), v, "float32") for v in (0.0, 1.0, -1.0, 0.5)]
    )
    logits = layer._block_logits(hidden, 1)  # [1, 4 blocks, 4, 5]
    steps = to_numpy(ops_reshape(
        layer._interpolate(logits, *layer._previous_blocks(logits, 4)),
        (16, 5),
    ))
    head = to_numpy(layer.heads(hidden))[:, 0]  # [4 blocks, 5]
    # Before block 0, the line through blocks 0 and 1 extended backwards.
    before = 2 * head[0] - head[1]
    control = np.concatenate([[2 * before - head[0], before], head])
    np.testing.assert_allclose(
        steps, _quadratic_b_spline(control, 4), rtol=1e-5, atol=1e-6
    )
    # No kink where blocks join: the slope changes by a constant per step
    # within a block, and by the average of the two blocks' changes at the
    # join (continuous slope), never a jump as with linear blending.
    slope = np.diff(steps, axis=0)
    curvature = np.diff(slope, axis=0)
    for join in (3, 7, 11):
        np.testing.assert_allclose(
            curvature[join - 1],
            (curvature[join - 2] + curvature[join]) / 2, rtol=1e-4,
            atol=1e-6,
        )
    # The first two blocks follow one line.
    np.testing.assert_allclose(curvature[:6], 0, atol=1e-5)


@pytest.mark.parametrize("feed_back", [False, True])
def test_auto_interpolation_is_smooth_only_on_the_outputs_set(feed_back):
    # Columns: output 0 (1 column), output 1 (2 columns), the flag (2).
    auto = _layer(block_heads="shared", interpolate="auto",
                  feed_back=feed_back)
    auto(_condition(1))
    np.testing.assert_array_equal(to_numpy(auto.smooth_mask), [0] * 5)
    auto.set_smooth_outputs([1])
    np.testing.assert_array_equal(to_numpy(auto.smooth_mask),
                                  [0, 1, 1, 0, 0])
    logits = ops.convert_to_tensor(
        np.random.default_rng(3).normal(size=(1, 4, 2, 5)).astype("float32")
    )
    spline_layer = _layer(block_heads="shared", interpolate="smooth")
    blended = to_numpy(auto._interpolate(
        logits, *auto._previous_blocks(logits, 4)
    ))
    spline = to_numpy(spline_layer._interpolate(
        logits, *spline_layer._previous_blocks(logits, 4)
    ))
    linear_layer = _layer(block_heads="shared", interpolate="linear")
    linear = to_numpy(linear_layer._interpolate(
        logits, *linear_layer._previous_blocks(logits, 4)
    ))
    np.testing.assert_allclose(blended[..., 1:3], spline[..., 1:3], rtol=1e-5)
    np.testing.assert_allclose(blended[..., [0, 3, 4]],
                               linear[..., [0, 3, 4]], rtol=1e-5)
    assert np.abs(spline - linear).max() > 1e-3
    # The setting changes what the layer generates.
    kwargs = {**_given_noise(n=3), "full_length": 1}
    before = to_numpy(auto(_condition(3), **kwargs)[0])
    auto.set_smooth_outputs([])
    after = to_numpy(auto(_condition(3), **kwargs)[0])
    assert np.abs(before[..., 1:3] - after[..., 1:3]).max() > 1e-6
    with pytest.raises(ValueError, match="indices in 0..1"):
        auto.set_smooth_outputs([2])
    smooth = _layer(interpolate="smooth")
    smooth(_condition(1))
    assert smooth.smooth_mask is None
    with pytest.raises(ValueError, match="interpolate='auto'"):
        smooth.set_smooth_outputs([0])


def test_smooth_interpolation_with_feed_back_starts_from_block_0():
    layer = _layer(block_heads="shared", interpolate="smooth",
                   feed_back=True, step_noise_dim=0)
    features = to_numpy(
        layer(_condition(3), full_length=1, **_given_noise(n=3))[0]
    )
    # Block 1 is not known at block 0: block 0 repeats its own logits.
    np.testing.assert_allclose(features[:, 0, 0], features[:, 1, 0],
                               rtol=1e-6)
    assert np.abs(features[:, 2, 0] - features[:, 1, 0]).max() > 1e-6


def test_step_noise_varies_steps_independently():
    layer = _layer(step_noise_dim=3)
    kwargs = _given_noise(step_noise_dim=3)
    first = to_numpy(layer(_condition(4), **kwargs)[0])
    kwargs["step_noise"] = kwargs["step_noise"].copy()
    kwargs["step_noise"][:, 1] += 1.0
    second = to_numpy(layer(_condition(4), **kwargs)[0])
    changed = np.abs(first - second).max(axis=(0, 2)) > 0
    # Step 1 changes, not the other step of its block (0); the first
    # block is always active, so no generation flag can hide it.
    assert changed[1] and not changed[0]


@pytest.mark.parametrize("feed_back", [False, True])
def test_step_noise_reaches_only_its_outputs(feed_back):
    # Columns: output 0 (1 column), output 1 (2 columns), the flag (2).
    layer = _layer(step_noise_dim=3, step_noise_outputs=[1],
                   feed_back=feed_back)
    # Full length: no series ends where the noisier flag would end it.
    kwargs = {**_given_noise(step_noise_dim=3), "full_length": 1.0}
    first = to_numpy(layer(_condition(4), **kwargs)[0])
    np.testing.assert_array_equal(to_numpy(layer.step_noise_mask),
                                  [0, 1, 1, 1, 1])
    kwargs["step_noise"] = kwargs["step_noise"] + 1.0
    second = to_numpy(layer(_condition(4), **kwargs)[0])
    changed = np.abs(first - second).max(axis=(0, 1)) > 0
    assert changed[1:3].all()
    if not feed_back:  # fed back, output 1's change reaches output 0
        assert not changed[0]
    assert layer.get_config()["step_noise_outputs"] == [1]


def test_auto_step_noise_reaches_every_output_until_outputs_are_set():
    layer = _layer(step_noise_dim=2, step_noise_outputs="auto")
    layer(_condition(2))
    np.testing.assert_array_equal(to_numpy(layer.step_noise_mask), [1] * 5)
    layer.set_step_noise_outputs([0])
    np.testing.assert_array_equal(to_numpy(layer.step_noise_mask),
                                  [1, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="indices in 0..1"):
        layer.set_step_noise_outputs([2])
    # "all" (the layer's default) has no mask to set.
    every = _layer(step_noise_dim=2)
    every(_condition(2))
    assert every.step_noise_mask is None
    with pytest.raises(ValueError, match="step_noise_outputs='auto' or a list"):
        every.set_step_noise_outputs([0])
    for bad in ("some", [0, 0], [5], ["0"]):
        with pytest.raises(ValueError, match="`step_noise_outputs` must"):
            _layer(step_noise_dim=2, step_noise_outputs=bad)


@pytest.mark.parametrize("feed_back", [False, True])
def test_series_feature_noise_holds_each_series_first_draw(feed_back):
    kwargs = {**_given_noise(), "full_length": 1.0}
    held = dict(kwargs, noise=np.repeat(kwargs["noise"][:, :1], 4, axis=1))

    def features(layer, **call):
        return to_numpy(layer(_condition(4), **call)[0])

    series = _layer(feature_noise="series", feed_back=feed_back)
    step = _layer(feature_noise="step", feed_back=feed_back)
    series(_condition(2))
    step(_condition(2))
    step.set_weights(series.get_weights())
    # Only the first step's draw counts: the steps' own draws change
    # nothing, and the result is the per-step layer's on the held draw.
    np.testing.assert_array_equal(features(series, **kwargs),
                                  features(series, **held))
    np.testing.assert_allclose(features(series, **kwargs),
                               features(step, **held), atol=1e-6)
    assert np.abs(features(step, **kwargs)
                  - features(step, **held)).max() > 1e-4
    assert series.get_config()["feature_noise"] == "series"


def test_auto_feature_noise_is_drawn_per_step_until_set():
    kwargs = {**_given_noise(), "full_length": 1.0}
    held = dict(kwargs, noise=np.repeat(kwargs["noise"][:, :1], 4, axis=1))
    layer = _layer(feature_noise="auto")
    per_step = to_numpy(layer(_condition(4), **kwargs)[0])
    assert to_numpy(layer.series_noise) == 0
    on_held = to_numpy(layer(_condition(4), **held)[0])
    assert np.abs(per_step - on_held).max() > 1e-4
    layer.set_series_noise(True)
    np.testing.assert_array_equal(to_numpy(layer(_condition(4), **kwargs)[0]),
                                  to_numpy(layer(_condition(4), **held)[0]))
    layer.set_series_noise(False)
    np.testing.assert_array_equal(to_numpy(layer(_condition(4), **kwargs)[0]),
                                  per_step)
    with pytest.raises(ValueError, match="`held` must be"):
        layer.set_series_noise("yes")
    # "step" and "series" have no setting to change.
    fixed = _layer(feature_noise="series")
    fixed(_condition(2))
    assert fixed.series_noise is None
    with pytest.raises(ValueError, match="feature_noise='auto'"):
        fixed.set_series_noise(True)
    with pytest.raises(ValueError, match="feature_noise"):
        _layer(feature_noise="block")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"feed_back": True},
        {"step_noise_dim": 2, "interpolate": True, "block_heads": "shared"},
        {"step_noise_dim": 2, "interpolate": "smooth",
         "block_heads": "shared"},
        {"feed_back": True, "interpolate": "smooth"},
        {"interpolate": "auto", "block_heads": "shared"},
        {"num_layers": 2, "unroll": False},
        {"feature_noise": "series", "feed_back": True},
    ],
)
def test_num_steps_continues_the_series(kwargs):
    """More LSTM steps continue the same series: the first
    `max_sequence_len` steps are those of the default call with the same
    noise, and the state carries on (no restart at the window's end)."""
    layer = _layer(**kwargs)
    rng = np.random.default_rng(1)
    n, steps = 6, 12  # 3 windows of 4 LSTM steps
    noise = rng.normal(size=(n, steps, 5)).astype("float32")
    state = rng.normal(size=(n, layer.num_layers, 2, 4)).astype("float32")
    step_noise = None
    if layer.step_noise_dim:
        step_noise = rng.normal(size=(n, steps * 2, 2)).astype("float32")
    condition = _condition(n)
    long, flag, lengths = (
        to_numpy(x)
        for x in layer(
            condition, noise=noise, initial_state=state,
            step_noise=step_noise, full_length=1, num_steps=steps,
        )
    )
    assert long.shape == (n, 24, 5)
    np.testing.assert_array_equal(flag, 1.0)
    np.testing.assert_array_equal(lengths, 24)
    short, _, _ = (
        to_numpy(x)
        for x in layer(
            condition, noise=noise[:, :4], initial_state=state,
            step_noise=None if step_noise is None else step_noise[:, :8],
            full_length=1,
        )
    )
    np.testing.assert_allclose(long[:, :8], short, atol=1e-5)
    # The second window is not the first one restarted from the initial
    # state with the second window's noise.
    restarted, _, _ = (
        to_numpy(x)
        for x in layer(
            condition, noise=noise[:, 4:8], initial_state=state,
            step_noise=None if step_noise is None else step_noise[:, 8:16],
            full_length=1,
        )
    )
    assert np.abs(long[:, 8:16] - restarted).max() > 1e-3
    assert layer.compute_output_shape((n, 3), noise.shape)[0] == (
        n, 24, 5
    )


def test_num_steps_must_be_positive():
    with pytest.raises(ValueError, match="num_steps"):
        _layer()(_condition(2), num_steps=0)
