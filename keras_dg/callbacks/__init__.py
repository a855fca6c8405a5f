"""Callbacks for long training runs: resumable checkpoints, permanent
snapshots, sample pictures, a NaN stop that says what diverged, and a
wall-clock budget (`TimeBudget`).

`training_callbacks(out_dir, ...)` builds the set that maps the original
code's options (`epoch_checkpoint_freq`, `extra_checkpoint_freq`,
`vis_freq`, `vis_num_sample`); the classes are exported for custom sets.
"""

from keras_dg.callbacks.periodic_model_checkpoint import (
    PeriodicModelCheckpoint,
)
from keras_dg.callbacks.sample_visualizer import SampleVisualizer
from keras_dg.callbacks.terminate_on_nan_loss import TerminateOnNaNLoss
from keras_dg.callbacks.time_budget import UNLIMITED_EPOCHS
from keras_dg.callbacks.time_budget import TimeBudget
from keras_dg.callbacks.time_budget import parse_duration
from keras_dg.callbacks.training_callbacks import training_callbacks
from keras_dg.callbacks.training_checkpoint import TrainingCheckpoint
