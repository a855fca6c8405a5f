import keras
from keras import ops

from keras_dg.layers.output_heads import apply_output_activations
from keras_dg.layers.output_heads import harden
from keras_dg.specs import outputs_from_config
from keras_dg.specs import outputs_to_config
from keras_dg.specs import total_dim
from keras_dg.validation import check_non_negative_float
from keras_dg.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_dg")
class AttributeGenerator(keras.layers.Layer):
    """The attribute (metadata) MLP of DoppelGANger.

    `num_layers - 1` hidden blocks of `Dense(num_units) -> ReLU ->
    BatchNormalization` (BN after the activation, momentum 0.9, epsilon
    1e-5, as the original's `tf.contrib` batch norm), then one head per
    output: softmax for discrete outputs, sigmoid for ZERO_ONE and tanh for
    MINUSONE_ONE continuous outputs. The heads share one `Dense` layer whose
    columns are split by output; this is the same function as one `Dense`
    per output.

    The layer returns `(soft, hard)`: `soft` are the head outputs (softmax
    probabilities for discrete outputs, what the critics see); `hard` equals
    `soft` with each discrete block replaced by its one-hot argmax, wrapped
    in `stop_gradient` (what conditions the next generator), as in the
    original.

    DoppelGANger uses this layer twice: for the real attributes (input: noise)
    and, with `self_norm`, for the per-series min/max attributes (input:
    noise concatenated with the hard real attributes).

    Args:
        outputs: list of `Output` (or their config dicts). The generated
            variables, in column order. Empty (a table without attributes):
            the layer has no weights and returns [B, 0] tensors.
        num_layers: int. Number of layers including the output heads, as the
            original's `gen_attribute_num_layers`. Defaults to 3.
        num_units: int. Width of the hidden layers. Defaults to 100.
        output_margin: float >= 0. Continuous heads are stretched by this
            fraction of their range beyond both ends and clipped to it, so
            they can take the range's bounds exactly (see
            `apply_output_activations`). Defaults to 0 (plain sigmoid and
            tanh, as the original).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a tensor [B, D_in], or a list of tensors concatenated on the
            last axis (e.g. `[noise, condition]`).
        training: bool. Batch-norm mode.

    Example:

    >>> import numpy as np
    >>> from keras_dg import Output
    >>> layer = AttributeGenerator(
    ...     [Output("DISCRETE", 3), Output("CONTINUOUS", 1, "ZERO_ONE")],
    ...     num_layers=2, num_units=8)
    >>> soft, hard = layer(np.random.normal(size=(4, 5)).astype("float32"))
    >>> tuple(soft.shape), tuple(hard.shape)
    ((4, 4), (4, 4))

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020, §4.3 (decoupled attribute generation).
    """

    def __init__(
        self, outputs, num_layers=3, num_units=100, output_margin=0.0,
        **kwargs
    ):
        super().__init__(**kwargs)
        self.outputs = outputs_from_config(outputs, "outputs")
        check_positive_int(num_layers, "num_layers")
        check_positive_int(num_units, "num_units")
        check_non_negative_float(output_margin, "output_margin")
        self.num_layers = num_layers
        self.num_units = num_units
        self.output_margin = float(output_margin)

        # === Layers ===
        self.hidden_layers = []
        self.batch_norm_layers = []
        self.heads = None
        if not self.outputs:
            # Nothing to generate (a table without attributes): no weights,
            # and `call` returns [B, 0] tensors.
            return
        for i in range(num_layers - 1):
            self.hidden_layers.append(
                keras.layers.Dense(
                    num_units, activation="relu", name=f"hidden_{i}"
                )
            )
            self.batch_norm_layers.append(
                keras.layers.BatchNormalization(
                    momentum=0.9, epsilon=1e-5, name=f"batch_norm_{i}"
                )
            )
        self.heads = keras.layers.Dense(total_dim(self.outputs), name="heads")

    def build(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape and (
            isinstance(input_shape[0], (list, tuple))
        ):
            input_dim = sum(int(s[-1]) for s in input_shape)
        else:
            input_dim = int(input_shape[-1])
        shape = (None, input_dim)
        for dense, batch_norm in zip(
            self.hidden_layers, self.batch_norm_layers
        ):
            dense.build(shape)
            shape = (None, self.num_units)
            batch_norm.build(shape)
        if self.heads is not None:
            self.heads.build(shape)

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)):
            x = ops.concatenate(list(inputs), axis=-1)
        else:
            x = inputs
        if self.heads is None:
            empty = ops.zeros((ops.shape(x)[0], 0), dtype=self.compute_dtype)
            return empty, empty
        for dense, batch_norm in zip(
            self.hidden_layers, self.batch_norm_layers
        ):
            x = batch_norm(dense(x), training=training)
        soft = apply_output_activations(
            self.heads(x), self.outputs, margin=self.output_margin
        )
        hard = ops.stop_gradient(harden(soft, self.outputs))
        return soft, hard

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape and (
            isinstance(input_shape[0], (list, tuple))
        ):
            batch = input_shape[0][0]
        else:
            batch = input_shape[0]
        shape = (batch, total_dim(self.outputs))
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "outputs": outputs_to_config(self.outputs),
                "num_layers": self.num_layers,
                "num_units": self.num_units,
                "output_margin": self.output_margin,
            }
        )
        return config

