"""keras-dg: DoppelGANger as Keras 3 layers and a `keras.Model`."""

from keras_dg.version import __version__
from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.models.doppelganger import DoppelGANger
from keras_dg import layers
from keras_dg import models
from keras_dg import data
from keras_dg import evaluation
from keras_dg import privacy
from keras_dg import workflows
from keras_dg import callbacks
