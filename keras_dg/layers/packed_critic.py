import keras
from keras import ops

from keras_dg.validation import check_positive_int


def pack(x, num_packing):
    """[P * B, ...] rows (pack-major) to [B, P * d] flat packed rows.

    Row `k * B + i` of the input is the k-th member of packed sample i.
    """
    # The batch size is spelled out (not -1): a 0-wide input (no attributes)
    # would make -1 ambiguous, which PyTorch refuses and JAX divides by.
    batch = ops.shape(x)[0] // num_packing
    dim = _flat_dim(x)
    flat = ops.reshape(x, (num_packing, batch, dim))
    flat = ops.transpose(flat, (1, 0, 2))
    return ops.reshape(flat, (batch, num_packing * dim))


def _flat_dim(x):
    dim = 1
    for size in x.shape[1:]:
        dim *= int(size)
    return dim


@keras.saving.register_keras_serializable(package="keras_dg")
class PackedCritic(keras.layers.Layer):
    """The MLP critic of DoppelGANger, with PacGAN packing.

    Each input is flattened per sample; with `num_packing` P the input rows
    are grouped into packed samples of P members (rows `k * B + i`,
    k = 0..P-1, form packed sample i) and the critic scores each group:
    `[flat x1_1 .. flat x1_P, flat x2_1 .. flat x2_P, ...]` ->
    `num_layers - 1` times `Dense(num_units) -> ReLU` -> `Dense(1)`. No
    normalization, no dropout, as the original (gradient penalty critics
    must not use batch norm).

    DoppelGANger uses it as the main critic (inputs: features with the flag
    columns, and attributes with the min/max columns) and as the auxiliary
    attribute critic (input: attributes only).

    Args:
        num_layers: int. Layers including the output layer. Defaults to 5.
        num_units: int. Hidden width. Defaults to 200.
        num_packing: int. PacGAN degree P; 1 is no packing. Defaults to 1.
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: a tensor [P * B, ...] or a list of them (same P * B rows).

    Returns:
        Scores [B].

    Example:

    >>> import numpy as np
    >>> critic = PackedCritic(num_layers=2, num_units=8, num_packing=2)
    >>> features = np.zeros((6, 4, 3), "float32")  # P * B = 2 * 3 rows
    >>> attributes = np.zeros((6, 5), "float32")
    >>> tuple(critic([features, attributes]).shape)
    (3,)

    Reference:
        Lin et al., IMC 2020, §4; Lin et al., "PacGAN", NeurIPS 2018.
    """

    def __init__(self, num_layers=5, num_units=200, num_packing=1, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(num_layers, "num_layers")
        check_positive_int(num_units, "num_units")
        check_positive_int(num_packing, "num_packing")
        self.num_layers = num_layers
        self.num_units = num_units
        self.num_packing = num_packing

        # === Layers ===
        self.hidden_layers = [
            keras.layers.Dense(num_units, activation="relu", name=f"hidden_{i}")
            for i in range(num_layers - 1)
        ]
        self.score_layer = keras.layers.Dense(1, name="score")

    def build(self, input_shape):
        shapes = input_shape
        if not (
            isinstance(shapes, (list, tuple))
            and shapes
            and isinstance(shapes[0], (list, tuple))
        ):
            shapes = [shapes]
        input_dim = 0
        for shape in shapes:
            dim = 1
            for size in shape[1:]:
                if size is None:
                    raise ValueError(
                        "PackedCritic needs fully known non-batch input "
                        f"dimensions. Received an input of shape {shape}."
                    )
                dim *= int(size)
            input_dim += dim
        shape = (None, input_dim * self.num_packing)
        for dense in self.hidden_layers:
            dense.build(shape)
            shape = (None, self.num_units)
        self.score_layer.build(shape)

    def call(self, inputs):
        return self.score(self.pack_inputs(inputs))

    def pack_inputs(self, inputs):
        """[P * B, ...] inputs (or a list of them) to [B, P * D] rows."""
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        packed = [pack(x, self.num_packing) for x in inputs]
        return packed[0] if len(packed) == 1 else ops.concatenate(packed, -1)

    def score(self, packed):
        """Scores [B] of packed rows [B, P * D] (see `pack_inputs`)."""
        x = packed
        for dense in self.hidden_layers:
            x = dense(x)
        return ops.squeeze(self.score_layer(x), axis=-1)

    def compute_output_shape(self, input_shape):
        first = input_shape
        if isinstance(input_shape[0], (list, tuple)):
            first = input_shape[0]
        batch = first[0]
        if batch is not None:
            batch //= self.num_packing
        return (batch,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "num_units": self.num_units,
                "num_packing": self.num_packing,
            }
        )
        return config
