"""`TrainingCheckpoint`: the resumable training state every N epochs."""

import json
import os
import re
import warnings

import keras
import numpy as np

from keras_dg.callbacks._utils import is_last_epoch
from keras_dg.callbacks._utils import non_finite_logs
from keras_dg.callbacks._utils import non_finite_variables
from keras_dg.files import atomic_write
from keras_dg.files import atomic_write_json
from keras_dg.validation import check_directory
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int

POINTER_FILE = "checkpoint.json"
_FORMAT = 1
_WEIGHTS_PATTERN = re.compile(r"^ckpt-(\d+)\.weights\.h5$")
# The temp names of the weights before `keras_dg.files` (its
# `.tmp-<pid>-` names are removed by `atomic_write` once their writer died).
_LEGACY_TMP_PREFIX = ".tmp-ckpt-"
# Config entries that may differ between two runs of the same model.
_IGNORED_CONFIG_KEYS = ("name",)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the training state every N epochs and resumes from it.

    At the end of every `every_n_epochs`-th epoch, and of the last epoch,
    the callback saves everything needed to continue training: the model's
    weights (for `keras_dg.DoppelGANger`: the generator, both critics and
    the batch-norm statistics), the state of every optimizer (with
    DoppelGANger's `MultiOptimizer`, the Adam moments and iteration counts of
    `g_optimizer`, `d_optimizer` and `attr_d_optimizer`), the state of every
    `keras.random.SeedGenerator` in the model (the training noise), and the
    number of epochs done. When `fit` starts and the directory holds a
    checkpoint, the callback loads it and `fit` continues from the next
    epoch, so re-running the same training command after a crash or a
    `kill -9` trains up to the requested `epochs` and no further. A
    checkpoint at or past `epochs` means training is done: `fit` then runs
    no epoch. Mid-epoch progress is not saved (as in the original): a run
    killed during epoch e + 1 redoes that epoch from the state after epoch
    e. The shuffling order of the data is not restored.

    Every write is atomic (`keras_dg.files.atomic_write`). The weights go
    to a temporary file that is renamed (`os.replace`) to
    `ckpt-{epoch}.weights.h5`; then the pointer file `checkpoint.json`
    (epoch, weights file, seed-generator states, model config) is written
    the same way. Until the pointer's rename, the previous checkpoint is
    the valid one, so a kill at any moment leaves a loadable checkpoint.
    The last `max_to_keep` checkpoints are kept; if the newest one cannot
    be read (e.g. a damaged disk), the next older one is loaded with a
    warning.

    An epoch whose logs hold a NaN or an infinite loss, or after which any
    weight or optimizer variable is NaN or infinite, is not saved: the last
    good checkpoint is kept (with a warning). An epoch cut short by
    `model.stop_training` is not saved either. If training stops after an
    epoch that was complete and finite but not due for a checkpoint (e.g.
    `keras.callbacks.EarlyStopping`), it is saved when training ends.

    Restoring checks that the checkpoint was written by a model with the
    same class and config (the `name` aside), and raises `ValueError`
    naming the differing entries otherwise; use a new directory for a new
    model.

    Why not `keras.callbacks.BackupAndRestore`: in Keras 3.15 it saves the
    model and optimizer variables (`save_weights`) and the epoch, but (1) it
    saves every epoch or every N batches, not every N epochs; (2) it writes
    the weights file in place and the epoch in a second file afterwards, so
    a kill during `save_weights` leaves a truncated file, and a kill between
    the two writes pairs new weights with an old epoch (its
    `double_checkpoint` copy narrows, but does not close, that window);
    (3) it does not save `SeedGenerator` states, which `save_weights`
    leaves out; (4) it saves the NaN weights of a diverged epoch over the
    last good ones (`fit` still calls `on_epoch_end` after
    `TerminateOnNaN`). This callback uses the same Keras mechanism to resume
    (`save_weights`/`load_weights`, and the model's initial epoch that
    `BackupAndRestore` sets).

    Args:
        directory: str. Folder for the checkpoint files, used by nothing
            else. Created when needed.
        every_n_epochs: int. Save after epochs N, 2N, ... and the last
            epoch (the original's `epoch_checkpoint_freq`). Defaults to 1.
        max_to_keep: int. Number of checkpoints kept. Defaults to 2.
        restore: bool. Load the latest checkpoint when `fit` starts.
            Defaults to True.
        verbose: int. 1 prints a line per save and restore. Defaults to 0.

    Example:

    ```python
    checkpoint = keras_dg.callbacks.TrainingCheckpoint("run/backup")
    model.fit(data, epochs=400, callbacks=[checkpoint])
    # Killed? Run the same two lines again: training resumes after the
    # last saved epoch and stops at epoch 400.
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020; the original code's `epoch_checkpoint_freq` and `restore`
        options (`shared/ALGORITHM.md` §6).
    """

    def __init__(
        self, directory, every_n_epochs=1, max_to_keep=2, restore=True,
        verbose=0,
    ):
        super().__init__()
        self.directory = check_directory(directory, "directory")
        self.every_n_epochs = check_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.max_to_keep = check_positive_int(max_to_keep, "max_to_keep")
        self.restore = check_bool(restore, "restore")
        self.verbose = verbose
        self.restored_epoch = None
        self.saved_epochs = []
        self._pending_epoch = None
        self._last_batch = None

    # --- Reading ------------------------------------------------------------

    @property
    def pointer_path(self):
        return os.path.join(self.directory, POINTER_FILE)

    def read_pointer(self):
        """The pointer file's content, or `None` when there is none."""
        if not os.path.exists(self.pointer_path):
            return None
        with open(self.pointer_path, encoding="utf-8") as f:
            try:
                pointer = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"The checkpoint pointer {self.pointer_path} is not valid "
                    f"JSON ({e}); it was not written by TrainingCheckpoint."
                ) from None
        if pointer.get("format") != _FORMAT or not pointer.get("checkpoints"):
            raise ValueError(
                f"The checkpoint pointer {self.pointer_path} has an unknown "
                f"layout (format {pointer.get('format')!r}); expected format "
                f"{_FORMAT} with a non-empty 'checkpoints' list."
            )
        return pointer

    @property
    def latest_epoch(self):
        """Epochs done at the latest checkpoint (0 when there is none)."""
        pointer = self.read_pointer()
        return 0 if pointer is None else pointer["checkpoints"][-1]["epoch"]

    def restore_into(self, model):
        """Loads the latest checkpoint into `model`.

        Returns:
            The number of epochs done at that checkpoint, or 0 when the
            directory holds none (the model is then left untouched).
        """
        pointer = self.read_pointer()
        if pointer is None:
            return 0
        _check_same_model(pointer, model, self.pointer_path)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        errors = []
        for entry in reversed(pointer["checkpoints"]):
            path = os.path.join(self.directory, entry["weights"])
            try:
                model.load_weights(path)
            except (OSError, ValueError, KeyError) as e:
                errors.append(f"{path}: {e}")
                warnings.warn(
                    f"Could not load the checkpoint {path} ({e}); trying an "
                    "older one.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            _set_seed_states(model, entry["seed_states"], path)
            return entry["epoch"]
        raise OSError(
            f"No checkpoint in {self.directory} could be loaded: "
            + "; ".join(errors)
        )

    # --- Writing ------------------------------------------------------------

    def save(self, epochs_done):
        """Writes the model's current state as the checkpoint after
        `epochs_done` epochs, then drops checkpoints beyond `max_to_keep`."""
        os.makedirs(self.directory, exist_ok=True)
        name = f"ckpt-{epochs_done}.weights.h5"
        with atomic_write(os.path.join(self.directory, name)) as tmp:
            self.model.save_weights(tmp, overwrite=True)

        pointer = self.read_pointer()
        entries = [] if pointer is None else pointer["checkpoints"]
        entries = [e for e in entries if e["epoch"] < epochs_done]
        entries.append(
            {
                "epoch": epochs_done,
                "weights": name,
                "seed_states": _seed_states(self.model),
                "iterations": _iterations(self.model),
            }
        )
        entries = entries[-self.max_to_keep:]
        pointer = {
            "format": _FORMAT,
            "model_class": type(self.model).__name__,
            "model_config": _plain_config(self.model),
            "checkpoints": entries,
        }
        atomic_write_json(self.pointer_path, pointer)
        self._remove_unreferenced({e["weights"] for e in entries})
        self.saved_epochs.append(epochs_done)
        if self.verbose:
            print(f"TrainingCheckpoint: saved epoch {epochs_done} to "
                  f"{self.directory}")

    def _remove_unreferenced(self, keep):
        for name in os.listdir(self.directory):
            if name not in keep and (
                _WEIGHTS_PATTERN.match(name)
                or name.startswith(_LEGACY_TMP_PREFIX)
            ):
                os.remove(os.path.join(self.directory, name))

    # --- Callback hooks -----------------------------------------------------

    def on_train_begin(self, logs=None):
        self._pending_epoch = None
        self.restored_epoch = None
        if not self.restore:
            return
        epoch = self.restore_into(self.model)
        if not epoch:
            return
        epochs = (self.params or {}).get("epochs")
        if epochs is not None and epoch > epochs:
            raise ValueError(
                f"The checkpoint in {self.directory} is at epoch {epoch}, past "
                f"the requested epochs={epochs}. Ask for at least {epoch} "
                "epochs, or use a new directory to train from scratch."
            )
        self.restored_epoch = epoch
        # The hook Keras' own BackupAndRestore uses: `fit` reads it after
        # `on_train_begin` and starts its epoch loop there.
        self.model._initial_epoch = epoch
        if self.verbose:
            print(f"TrainingCheckpoint: restored epoch {epoch} from "
                  f"{self.directory}; continuing at epoch {epoch + 1}.")

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = None

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch = batch

    def on_epoch_end(self, epoch, logs=None):
        self._pending_epoch = None
        steps = (self.params or {}).get("steps")
        if (
            self.model.stop_training
            and steps is not None
            and (self._last_batch is None or self._last_batch + 1 < steps)
        ):
            return  # The epoch was cut short: not a state to resume from.
        bad = non_finite_logs(logs)
        if bad:
            self._warn_not_saved(epoch, f"non-finite logs {bad}")
            return
        self._pending_epoch = epoch + 1
        if (epoch + 1) % self.every_n_epochs == 0 or is_last_epoch(
            self, epoch
        ):
            self._save_if_finite(epoch + 1)

    def on_train_end(self, logs=None):
        if self._pending_epoch is not None:
            self._save_if_finite(self._pending_epoch)
        if self.restored_epoch is not None:
            # Later `fit` calls without this callback start where told.
            self.model._initial_epoch = None

    def _save_if_finite(self, epochs_done):
        self._pending_epoch = None
        bad = non_finite_variables(self.model)
        if bad:
            self._warn_not_saved(
                epochs_done - 1, f"non-finite variables {bad[:5]}"
            )
            return
        self.save(epochs_done)

    def _warn_not_saved(self, epoch, reason):
        kept = self.saved_epochs[-1] if self.saved_epochs else (
            self.restored_epoch
        )
        kept = "none yet" if not kept else f"epoch {kept}"
        warnings.warn(
            f"TrainingCheckpoint: not saving epoch {epoch + 1} ({reason}); "
            f"the last good checkpoint ({kept}) in {self.directory} is kept.",
            RuntimeWarning,
            stacklevel=2,
        )


def _seed_generator_states(model):
    """The state variables of the model's `SeedGenerator`s, in a fixed
    order (`save_weights` does not store them)."""
    return [
        v for v in model.variables
        if v.path.endswith("seed_generator_state")
    ]


def _seed_states(model):
    return [
        keras.ops.convert_to_numpy(v).tolist()
        for v in _seed_generator_states(model)
    ]


def _set_seed_states(model, states, path):
    variables = _seed_generator_states(model)
    if len(variables) != len(states):
        raise ValueError(
            f"The checkpoint {path} holds {len(states)} seed-generator states "
            f"but the model has {len(variables)}; it was written by another "
            "model."
        )
    for variable, state in zip(variables, states):
        variable.assign(np.asarray(state, dtype=variable.dtype))


def _iterations(model):
    """Iteration counts of the optimizer and its sub-optimizers (for the
    record; the weights file holds the real values)."""
    optimizer = model.optimizer
    if optimizer is None:
        return {}
    optimizers = [optimizer] + list(getattr(optimizer, "optimizers", []))
    return {
        o.name: int(keras.ops.convert_to_numpy(o.iterations))
        for o in optimizers
    }


def _plain_config(model):
    """The model's config as plain JSON, or `None` if it has none."""
    try:
        config = model.get_config()
    except NotImplementedError:
        return None
    config = {
        k: v for k, v in config.items() if k not in _IGNORED_CONFIG_KEYS
    }
    return json.loads(json.dumps(config, default=repr))


def _check_same_model(pointer, model, path):
    if pointer.get("model_class") != type(model).__name__:
        raise ValueError(
            f"The checkpoint {path} was written by a "
            f"{pointer.get('model_class')}, not a {type(model).__name__}. "
            "Use a new directory for a different model."
        )
    saved, current = pointer.get("model_config"), _plain_config(model)
    if saved is None or current is None or saved == current:
        return
    differing = sorted(
        k for k in set(saved) | set(current) if saved.get(k) != current.get(k)
    )
    details = ", ".join(
        f"{k}: checkpoint {saved.get(k)!r} vs model {current.get(k)!r}"
        for k in differing[:5]
    )
    raise ValueError(
        f"The checkpoint {path} was written by a model with another config "
        f"({details}). Use a new directory for a different model."
    )
