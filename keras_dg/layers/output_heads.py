"""Per-output activations over the columns of one dense layer's output.

Both generators end in one `Dense` whose columns are split by `Output` spec:
a softmax per discrete block, a sigmoid or tanh per continuous block. One
dense layer plus sliced activations computes the same function as the
original's separate heads (one `Dense` per output), with fewer, larger ops.
"""

from keras import ops

from keras_dg.specs import output_slices


def apply_output_activations(logits, outputs):
    """Applies each output's activation to its columns of `logits`.

    Args:
        logits: tensor [..., D] with D the summed width of `outputs`.
        outputs: list of `Output`.

    Returns:
        A tensor of the same shape.
    """
    pieces = []
    for output, start, end in output_slices(outputs):
        block = logits[..., start:end]
        if output.activation == "softmax":
            pieces.append(ops.softmax(block, axis=-1))
        elif output.activation == "sigmoid":
            pieces.append(ops.sigmoid(block))
        else:
            pieces.append(ops.tanh(block))
    return pieces[0] if len(pieces) == 1 else ops.concatenate(pieces, -1)


def harden(values, outputs):
    """One-hot (argmax) of each discrete block; continuous blocks unchanged."""
    pieces = []
    for output, start, end in output_slices(outputs):
        block = values[..., start:end]
        if output.is_discrete:
            block = ops.one_hot(
                ops.argmax(block, axis=-1), output.dim, dtype=values.dtype
            )
        pieces.append(block)
    return pieces[0] if len(pieces) == 1 else ops.concatenate(pieces, -1)
