"""keras-dg: DoppelGANger as Keras 3 layers and a `keras.Model`.

The model and its layers load with the package, so that their Keras
registrations exist before `keras.saving.load_model` reads a `.keras` file.
The other submodules (`keras_dg.data`, `keras_dg.evaluation`, ...) load on
first use.
"""

import importlib

from keras_dg import layers
from keras_dg import models
from keras_dg import runtime
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.models.doppelganger import DoppelGANger
from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from keras_dg.version import __version__

# TensorFlow's CPU thread pools, before its first op (see keras_dg.runtime).
runtime.apply_default_cpu_threads()

_LAZY_SUBMODULES = (
    "callbacks", "data", "distribute", "evaluation", "pipeline", "presets",
    "privacy", "tuning", "workflows",
)

__all__ = [
    "DoppelGANger", "Normalization", "Output", "OutputType",
    "TimeSeriesDataset", "__version__", "layers", "models", "runtime",
    "upload_preset",
    *_LAZY_SUBMODULES,
]


def __getattr__(name):
    if name == "upload_preset":
        from keras_dg.presets.preset_io import upload_preset

        return upload_preset
    if name not in _LAZY_SUBMODULES:
        raise AttributeError(f"module 'keras_dg' has no attribute {name!r}")
    module = importlib.import_module(f"keras_dg.{name}")
    globals()[name] = module
    return module


def __dir__():
    return sorted(set(globals()) | set(__all__))
