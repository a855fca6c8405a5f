"""The generation-flag encoding (ALGORITHM §2b)."""

from keras import ops

from keras_dg.specs import Output
from keras_dg.specs import OutputType


def gen_flag_output():
    """The internal 2-way discrete output appended after the features."""
    return Output(OutputType.DISCRETE, 2, is_gen_flag=True)


def check_sample_len(max_sequence_len, sample_len):
    """Raises `ValueError` unless `sample_len` divides `max_sequence_len`."""
    for name, value in (
        ("max_sequence_len", max_sequence_len),
        ("sample_len", sample_len),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"`{name}` must be a positive integer. Received: "
                f"{name}={value!r}"
            )
    if max_sequence_len % sample_len != 0:
        valid = [
            s for s in range(1, max_sequence_len + 1)
            if max_sequence_len % s == 0
        ]
        raise ValueError(
            f"`sample_len` must divide `max_sequence_len`: the generator "
            f"emits `sample_len` steps per LSTM cell. Received "
            f"sample_len={sample_len} with max_sequence_len="
            f"{max_sequence_len}. Valid values: {valid}."
        )


def add_gen_flag(features, gen_flag, sample_len):
    """Appends the two generation-flag columns to `features`.

    With `next[t] = gen_flag[t + 1]` (0 at the last step) and `blk[t]` = 1
    when any step of the `sample_len`-block holding `t` is active, the new
    columns are `[next[t], (1 - next[t]) * blk[t]]`: `[1, 0]` continue,
    `[0, 1]` the last active step (and later steps of its block), `[0, 0]`
    blocks after the end.

    Args:
        features: [N, T, F] array or tensor.
        gen_flag: [N, T] array or tensor of 0/1.
        sample_len: int dividing T.

    Returns:
        A [N, T, F + 2] tensor.

    Example (T=6, sample_len=3):

    >>> import numpy as np
    >>> flag = np.array([[1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]], "float32")
    >>> out = add_gen_flag(np.zeros((2, 6, 0), "float32"), flag, 3)
    >>> ops.convert_to_numpy(out)[0].tolist()
    [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    >>> ops.convert_to_numpy(out)[1].tolist()
    [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    """
    features = ops.convert_to_tensor(features)
    gen_flag = ops.cast(ops.convert_to_tensor(gen_flag), features.dtype)
    t = ops.shape(gen_flag)[1]
    check_sample_len(int(t), int(sample_len))
    nxt = ops.concatenate(
        [gen_flag[:, 1:], ops.zeros_like(gen_flag[:, :1])], axis=1
    )
    blocks = ops.reshape(gen_flag, (-1, t // sample_len, sample_len))
    blk = ops.max(blocks, axis=-1, keepdims=True) * ops.ones_like(blocks)
    blk = ops.reshape(blk, (-1, t))
    flag_columns = ops.stack([nxt, (1.0 - nxt) * blk], axis=-1)
    return ops.concatenate([features, flag_columns], axis=-1)
