"""`SampleVisualizer`: PNGs of generated series beside real ones, as
training goes."""

import os

import keras
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_dg.callbacks._utils import check_optional_positive_int
from keras_dg.callbacks._utils import is_last_epoch
from keras_dg.callbacks._utils import non_finite_logs
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.files import atomic_write
from keras_dg.specs import output_slices
from keras_dg.validation import check_directory
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed


class SampleVisualizer(keras.callbacks.Callback):
    """Draws generated series (and real ones beside them) during training.

    Every `every_n_batches` batches (counted over the whole run, resumed
    runs included; with several train steps per call, `steps_per_execution`,
    at the end of the call that passes each multiple) and after every
    `every_n_epochs`-th epoch and the last one, the callback calls
    `model.generate(num_samples, seed=seed)` and writes a PNG with one row
    per series: real series on the left (when `real` is given; the same
    `num_samples` series, drawn once with `seed`), generated ones on the
    right. Each panel shows the series' features over its length
    (continuous columns as lines, a discrete feature as its category index
    scaled to [0, 1]) and its attributes in the title. The same seed is
    used every time, so the pictures change only because the model does.
    Beside each PNG an `.npz` holds the generated `features`, `attributes`
    and `gen_flag` (the original's `sample/` folder).

    Files: `{directory}/batch_{global batch:08d}.png` and
    `{directory}/epoch_{epoch:04d}.png` (1-based), plus `.npz`. Batches or
    epochs whose logs hold a NaN are not drawn. Any model with
    `generate(n, seed=...)` returning a `TimeSeriesDataset` works.

    Args:
        directory: str. Output folder, created when needed.
        every_n_batches: int or None. Draw every N batches (the original's
            `vis_freq`); None or 0 turns it off. Defaults to 200.
        every_n_epochs: int or None. Draw after every N-th epoch (the
            original draws at every checkpointed epoch, so
            `epoch_checkpoint_freq`); None or 0 turns it off. Defaults to 1.
        num_samples: int. Series drawn (the original's `vis_num_sample`).
            Defaults to 5.
        real: `TimeSeriesDataset` or None. Real series to draw beside the
            generated ones, with the model's specs. Defaults to None.
        seed: int. Seed of the generation noise and of the choice of real
            series. Defaults to 0.

    Example:

    ```python
    vis = keras_dg.callbacks.SampleVisualizer(
        "run/samples", every_n_batches=200, num_samples=5, real=train_set)
    model.fit(train_set, epochs=400, callbacks=[vis])
    vis.written  # paths of the PNGs
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020; the original code's `vis_freq` and `vis_num_sample`
        (`shared/ALGORITHM.md` §6).
    """

    def __init__(
        self,
        directory,
        every_n_batches=200,
        every_n_epochs=1,
        num_samples=5,
        real=None,
        seed=0,
    ):
        super().__init__()
        self.directory = check_directory(directory, "directory")
        self.every_n_batches = check_optional_positive_int(
            every_n_batches, "every_n_batches"
        )
        self.every_n_epochs = check_optional_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.num_samples = check_positive_int(num_samples, "num_samples")
        if real is not None and not isinstance(real, TimeSeriesDataset):
            raise ValueError(
                "`real` must be a `keras_dg.TimeSeriesDataset` or None. "
                f"Received: real of type {type(real).__name__}."
            )
        if real is not None and len(real) == 0:
            raise ValueError("`real` must hold at least one series.")
        self.seed = check_seed(seed)
        self.real = None
        if real is not None:
            rng = np.random.default_rng(seed)
            count = min(num_samples, len(real))
            self.real = real[np.sort(rng.choice(len(real), count, False))]
        self.written = []
        self._epoch = 0
        self._batches_seen = 0

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "generate", None)):
            raise ValueError(
                "SampleVisualizer needs a model with `generate(n, seed=...)` "
                f"(such as keras_dg.DoppelGANger). Received a "
                f"{type(self.model).__name__}."
            )
        if self.real is not None and hasattr(self.model, "check_dataset"):
            try:
                self.model.check_dataset(self.real)
            except ValueError as e:
                raise ValueError(f"`real` does not fit the model: {e}") from e
        self._batches_seen = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_batches is None:
            return
        steps = (self.params or {}).get("steps")
        previous = self._batches_seen
        if steps:
            # Global batch count, also right after a resume. `batch` is the
            # call's last step: past the epoch's end when the model runs
            # several steps per call (`steps_per_execution`) and the
            # epoch's last call runs fewer.
            count = self._epoch * steps + min(batch, steps - 1) + 1
            if previous is None or previous > count:
                previous = self._epoch * steps  # The epoch's first call.
        else:
            previous = previous or 0
            count = previous + getattr(self.model, "steps_per_execution", 1)
        self._batches_seen = count
        # With several steps per call, every multiple of N passed since the
        # last call draws once.
        crossed = count // self.every_n_batches > previous // self.every_n_batches
        if crossed and not non_finite_logs(logs):
            self.visualize(f"batch_{count:08d}", f"batch {count}")

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs is None or non_finite_logs(logs):
            return
        if (epoch + 1) % self.every_n_epochs == 0 or is_last_epoch(
            self, epoch
        ):
            self.visualize(f"epoch_{epoch + 1:04d}", f"epoch {epoch + 1}")

    def visualize(self, name, title=None):
        """Generates `num_samples` series and writes `{name}.png` and
        `{name}.npz`; returns the PNG's path."""
        synthetic = self.model.generate(self.num_samples, seed=self.seed)
        os.makedirs(self.directory, exist_ok=True)
        stem = os.path.join(self.directory, name)
        with atomic_write(stem + ".npz") as tmp:
            np.savez(
                tmp,
                features=synthetic.features,
                attributes=synthetic.attributes,
                gen_flag=synthetic.gen_flag,
            )
        path = stem + ".png"
        with atomic_write(path) as tmp:
            _plot(self.real, synthetic, tmp, title or name)
        self.written.append(path)
        return path


def _plot(real, synthetic, path, title):
    columns = [("generated", synthetic)]
    if real is not None:
        columns.insert(0, ("real", real))
    rows = max(len(d) for _, d in columns)
    figure = Figure(
        figsize=(5.0 * len(columns), 2.2 * rows), layout="constrained"
    )
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, len(columns), squeeze=False)
    for column, (label, dataset) in enumerate(columns):
        for row in range(rows):
            axis = axes[row, column]
            if row >= len(dataset):
                axis.set_visible(False)
                continue
            _draw_series(axis, dataset, row)
            axis.set_title(
                f"{label} #{row}: {_describe_attributes(dataset, row)}",
                fontsize=8,
            )
    figure.suptitle(title)
    figure.savefig(path, dpi=80)


def _draw_series(axis, dataset, index):
    length = int(dataset.gen_flag[index].sum())
    steps = np.arange(length)
    for i, (output, start, end) in enumerate(
        output_slices(dataset.feature_outputs)
    ):
        block = dataset.features[index, :length, start:end]
        if output.is_discrete:
            values = np.argmax(block, axis=-1) / max(output.dim - 1, 1)
            axis.step(
                steps, values, where="mid", marker=".", label=f"feature_{i}"
            )
        elif output.dim == 1:
            axis.plot(steps, block[:, 0], marker=".", label=f"feature_{i}")
        else:
            for c in range(output.dim):
                axis.plot(
                    steps, block[:, c], marker=".", label=f"feature_{i}_{c}"
                )
    axis.set_xlim(-0.5, dataset.max_sequence_len - 0.5)
    axis.set_ylim(-1.05, 1.05)
    axis.tick_params(labelsize=7)
    if index == 0:
        axis.legend(fontsize=6, loc="upper right")


def _describe_attributes(dataset, index):
    parts = []
    for i, (output, start, end) in enumerate(
        output_slices(dataset.attribute_outputs)
    ):
        values = dataset.attributes[index, start:end]
        if output.is_discrete:
            parts.append(f"a{i}={int(np.argmax(values))}")
        else:
            parts.append(
                f"a{i}=" + ",".join(f"{v:.2f}" for v in values)
            )
    return " ".join(parts) + f" len={int(dataset.gen_flag[index].sum())}"
