"""One `train_step(model, *args)` per Keras backend.

Each module holds the backend's gradient machinery (tapes, `jax.grad`,
`torch.autograd`) and nothing else; the model supplies the shared pieces.
"""

import importlib

_MODULES = {
    "jax": "keras_dg.models.train_steps.jax",
    "tensorflow": "keras_dg.models.train_steps.tensorflow",
    # DP-SGD on the critics (ALGORITHM §8), TensorFlow only.
    "tensorflow_dp": "keras_dg.models.train_steps.tensorflow_dp",
    "torch": "keras_dg.models.train_steps.torch",
}


def get_train_step(backend):
    """The `train_step(model, *args)` function for `backend`."""
    if backend not in _MODULES:
        raise NotImplementedError(
            f"DoppelGANger training is not implemented on the {backend!r} "
            f"backend; supported: {sorted(_MODULES)}. Generation and saving "
            "work on every backend."
        )
    return importlib.import_module(_MODULES[backend]).train_step
