"""Checks every input of `keras_dg.pipeline.run` before any work starts.

`validate_run(...)` checks the datasets, the preset and its overrides, the
run's options and the output folder (with `resume`, that the previous run
continues with this one), and returns them cleaned as a `RunPlan`.
"""

import dataclasses
import importlib.util
import inspect
import sys

from keras_dg import presets as presets_lib
from keras_dg.callbacks.time_budget import UNLIMITED_EPOCHS
from keras_dg.callbacks.time_budget import parse_duration
from keras_dg.dataset import TimeSeriesDataset
from keras_dg.pipeline.run_folder import check_out_dir
from keras_dg.pipeline.run_folder import check_resumable
from keras_dg.validation import check_bool
from keras_dg.validation import check_int
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

# Model arguments that come from the data, not from the preset.
_DATA_ARGUMENTS = (
    "feature_outputs", "attribute_outputs", "max_sequence_len", "transformer",
)


@dataclasses.dataclass
class RunPlan:
    """The checked inputs of one pipeline run (see `pipeline.run`'s Args).

    `preset` is the preset dict (with `quick` applied), `config` the model's
    arguments (the preset's config with `model_kwargs` and the seed),
    `options` the training options, `out_dir` an absolute path and
    `previous` the previous run's manifest (or None).
    """

    train: TimeSeriesDataset
    test: object
    transformer: object
    preset: dict
    quick: bool
    config: dict
    options: dict
    n_generate: int
    seed: int
    metrics: object
    report: bool
    tensorboard: bool
    verbose: int
    out_dir: str
    previous: object
    overwrite: bool
    resume: bool
    # Without a preset: {name: {"value", "why"}} of the settings chosen from
    # the data (`keras_dg.pipeline.data_defaults`); else empty.
    settings_from_data: dict = dataclasses.field(default_factory=dict)

    @property
    def reference(self):
        """The report's reference: the test split, else the training data."""
        return self.test if self.test is not None else self.train

    @property
    def held_out_train(self):
        """The training data where a test split is the reference, else None."""
        return self.train if self.test is not None else None

    def say(self, *args, **kwargs):
        """Prints, unless `verbose=0`."""
        if self.verbose:
            print(*args, **kwargs)


def check_dataset(dataset, name):
    """Raises `ValueError` unless `dataset` is a valid, non-empty dataset."""
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            f"`{name}` must be a keras_dg.TimeSeriesDataset (e.g. from "
            "keras_dg.data.load_dg or from_dataframe). Received: "
            f"{type(dataset).__name__}"
        )
    if len(dataset) == 0:
        raise ValueError(f"`{name}` holds no series.")
    try:
        dataset.validate()
    except ValueError as e:
        raise ValueError(f"`{name}`: {e}") from None


def check_same_schema(train, other, name):
    """Raises `ValueError` unless `other` (named `name`) has `train`'s
    outputs and length; `other` is a dataset or a `TableTransformer`."""
    for attribute in ("feature_outputs", "attribute_outputs"):
        if getattr(other, attribute) != getattr(train, attribute):
            raise ValueError(
                f"`{name}.{attribute}` {getattr(other, attribute)} differ "
                f"from the training data's {getattr(train, attribute)}."
            )
    if other.max_sequence_len != train.max_sequence_len:
        raise ValueError(
            f"`{name}` has series of {other.max_sequence_len} steps; the "
            f"training data has {train.max_sequence_len}."
        )


def model_arguments():
    """The `DoppelGANger` arguments a preset or `model_kwargs` may set."""
    from keras_dg.models.doppelganger import DoppelGANger

    parameters = inspect.signature(DoppelGANger.__init__).parameters
    return [
        name for name, p in parameters.items()
        if name != "self" and name not in _DATA_ARGUMENTS
        and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def _merge_config(preset, model_kwargs):
    if model_kwargs is None:
        model_kwargs = {}
    if not isinstance(model_kwargs, dict):
        raise ValueError(
            "`model_kwargs` must be a dict of DoppelGANger arguments. "
            f"Received: {type(model_kwargs).__name__}"
        )
    allowed = model_arguments()
    for key in model_kwargs:
        if key in presets_lib.TRAINING_KEYS:
            raise ValueError(
                f"`model_kwargs[{key!r}]` is a training option; pass it as "
                f"`{key}=` or in `training=`."
            )
        if key not in allowed:
            raise ValueError(
                f"`model_kwargs` has the unknown argument {key!r}. "
                f"DoppelGANger takes: {', '.join(allowed)}."
            )
    return {**preset["config"], **model_kwargs}


def _merge_training(preset, training, epochs, batch_size):
    if training is None:
        training = {}
    if not isinstance(training, dict):
        raise ValueError(
            f"`training` must be a dict. Received: {type(training).__name__}"
        )
    unknown = sorted(set(training) - set(presets_lib.TRAINING_KEYS))
    if unknown:
        raise ValueError(
            f"`training` has unknown key(s) {unknown}; expected some of "
            f"{list(presets_lib.TRAINING_KEYS)}."
        )
    merged = {**preset["training"], **training}
    explicit_epochs = epochs is not None or "epochs" in training
    if epochs is not None:
        merged["epochs"] = epochs
    merged["time_budget"] = parse_duration(
        merged.get("time_budget"), "time_budget", allow_none=True
    )
    if merged["time_budget"] is not None and not explicit_epochs:
        # The budget replaces the preset's epoch count.
        merged["epochs"] = UNLIMITED_EPOCHS
    if batch_size is not None:
        merged["batch_size"] = batch_size
    merged["epochs"] = check_positive_int(merged["epochs"], "epochs")
    merged["batch_size"] = check_positive_int(
        merged["batch_size"], "batch_size"
    )
    merged["epoch_checkpoint_freq"] = check_positive_int(
        merged.get("epoch_checkpoint_freq", 1), "epoch_checkpoint_freq"
    )
    merged["select_batches"] = check_int(
        merged.get("select_batches", 0), "select_batches", minimum=0
    )
    for key in ("extra_checkpoint_freq", "vis_freq", "vis_num_sample"):
        merged[key] = check_int(
            merged.get(key), key, minimum=0, allow_none=True
        ) or None
    return merged


def _check_transformer(transformer, train):
    if transformer is None:
        return
    from keras_dg.data.table_transformer import TableTransformer

    if not isinstance(transformer, TableTransformer):
        raise ValueError(
            "`transformer` must be a keras_dg.data.TableTransformer or None."
            f" Received: {type(transformer).__name__}"
        )
    check_same_schema(train, transformer, "transformer")


def _check_verbose(verbose):
    if isinstance(verbose, bool):
        raise ValueError(
            f"`verbose` must be 'auto', 0, 1 or 2. Received: {verbose!r}"
        )
    verbose = check_one_of(verbose, "verbose", ["auto", 0, 1, 2])
    return auto_verbose() if verbose == "auto" else int(verbose)


def auto_verbose():
    """Keras' progress display for `verbose="auto"`: progress bars (1) on a
    terminal, one line per epoch (2) when stdout is a file or a pipe (a
    progress bar there is thousands of carriage-return updates)."""
    try:
        return 1 if sys.stdout.isatty() else 2
    except (AttributeError, ValueError):  # replaced or closed stdout
        return 2


def _check_metrics(metrics, reference, train):
    from keras_dg.evaluation import unavailable_metrics

    reasons = unavailable_metrics(reference, train=train, metrics=metrics)
    if reasons:
        raise ValueError(
            "These `metrics` cannot run on this data: "
            + "; ".join(f"{k}: {v}" for k, v in reasons.items())
        )


def _preset_from_data(train, quick, model_kwargs, training, batch_size):
    """`preset=None`: the base preset (the model's defaults) with the
    settings chosen from the data, but for those the call gives."""
    from keras_dg.pipeline import data_defaults

    preset = presets_lib.get_preset(data_defaults.BASE_PRESET, quick=quick)
    preset["name"] = None
    given = set(model_kwargs or {}) if isinstance(model_kwargs, dict) else set()
    if (isinstance(training, dict) and "batch_size" in training) or (
        batch_size is not None
    ):
        given.add("batch_size")
    settings = data_defaults.settings_from_data(train, skip=given)
    if "sample_len" in settings:
        preset["config"]["sample_len"] = settings["sample_len"]["value"]
    if "batch_size" in settings:
        preset["training"]["batch_size"] = settings["batch_size"]["value"]
    return preset, settings


def validate_run(train, out_dir, *, preset, model_kwargs, training, epochs,
                 batch_size, test, transformer, quick, n_generate, seed,
                 metrics, report, tensorboard, overwrite, resume, verbose):
    """Checks `pipeline.run`'s arguments (same names); returns a `RunPlan`.

    Raises `ValueError` (or `FileNotFoundError`) naming the first bad
    argument; nothing is written.
    """
    check_dataset(train, "train")
    if test is not None:
        check_dataset(test, "test")
        check_same_schema(train, test, "test")
    _check_transformer(transformer, train)
    quick = check_bool(quick, "quick")
    from_data = {}
    if preset is None:
        preset, from_data = _preset_from_data(
            train, quick, model_kwargs, training, batch_size
        )
    else:
        preset = presets_lib.get_preset(preset, quick=quick)
    config = _merge_config(preset, model_kwargs)
    options = _merge_training(preset, training, epochs, batch_size)
    n_generate = check_positive_int(
        len(train) if n_generate is None else n_generate, "n_generate"
    )
    seed = check_seed(seed)
    report = check_bool(report, "report")
    verbose = _check_verbose(verbose)
    if tensorboard is None:
        tensorboard = importlib.util.find_spec("tensorboard") is not None
    if report and metrics is not None:
        _check_metrics(
            metrics, test if test is not None else train,
            train if test is not None else None,
        )
    out_dir, previous = check_out_dir(out_dir, overwrite, resume)
    config.setdefault("seed", seed)
    if resume:
        check_resumable(previous, preset["name"], config, train)
    return RunPlan(
        train=train, test=test, transformer=transformer, preset=preset,
        quick=quick, config=config, options=options, n_generate=n_generate,
        seed=seed, metrics=metrics, report=report, tensorboard=tensorboard,
        verbose=verbose, out_dir=out_dir, previous=previous,
        overwrite=overwrite, resume=resume, settings_from_data=from_data,
    )
