import math

import keras
import keras_tuner as kt
import numpy as np

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.evaluation.metrics import SCALAR_METRICS
from keras_dg.evaluation.metrics import check_metric_names
from keras_dg.evaluation.metrics import evaluate
from keras_dg.evaluation.metrics import unavailable_metrics
from keras_dg.models.doppelganger import DoppelGANger
from keras_dg.tuning.search_space import SearchSpace
from keras_dg.validation import check_bool
from keras_dg.validation import check_positive_int
from keras_dg.validation import check_seed

OBJECTIVE_NAME = "fidelity"
DEFAULT_FIDELITY_METRICS = ("acf_mse", "attribute_jsd")
# The metrics a fidelity can add up: lower is better, and no training data
# needed (the TSTR scores are maximised; memorization needs `train`).
FIDELITY_METRICS = (
    "acf_mse", "attribute_jsd", "joint_attribute_jsd", "length_w1",
    "midpoint_w1", "cross_correlation_w1", "conditional_w1",
    "discriminative_score",
)


class DoppelGANgerHyperModel(kt.HyperModel):
    """A KerasTuner `HyperModel` that searches DoppelGANger's
    hyperparameters for held-out fidelity.

    `build(hp)` draws the hyperparameters of a trial from `search_space`,
    adds `model_kwargs`, and returns a compiled `DoppelGANger` for the
    training data's specs. `fit(hp, model, ...)` trains it on `train`
    (passing the tuner's callbacks on, and honouring the `epochs` and
    `initial_epoch` that Hyperband sets), generates `n_generate` series with
    `seed`, and scores them against `held_out` with
    `keras_dg.evaluation.evaluate`:

        fidelity = sum of `fidelity_metrics`
                 = acf_mse + attribute_jsd   (by default)

    `acf_mse` is the mean squared error between the real and synthetic
    autocorrelation curves of the continuous features (in [0, 4]) and
    `attribute_jsd` the mean Jensen-Shannon divergence of the discrete
    attributes' category frequencies (in [0, 1]); both are 0 for a perfect
    match. The tuner minimises `fidelity` (`objective`); `fit` returns it
    together with each term, and also writes it into the logs of the
    epochs it is computed on (the last epoch; every epoch with
    `evaluate_every_epoch`), where the tuner's best-epoch checkpoint reads
    it. A trial whose losses or generated series are not finite is reported
    to the tuner as failed (`keras_tuner.errors.FailedTrialError`) and the
    search goes on.

    Each trial's weights are initialised with `keras.utils.set_random_seed(
    seed)` and its noise uses `seed`, so trials differ only by their
    hyperparameters. A trial runs where TensorFlow places it: on the GPU
    when there is one (see `docs/scaling.md` for one worker per GPU).

    Args:
        train: `TimeSeriesDataset`. The training series.
        held_out: `TimeSeriesDataset`. Real series not trained on, with the
            same specs, to score the generated series against.
        model_kwargs: dict or `None`. `DoppelGANger` arguments used as given
            in every trial; they take precedence over (and are removed from)
            the search space. Defaults to `None`.
        search_space: `SearchSpace`, dict `{argument: callable(hp)}` or
            `None` for `SearchSpace.default(T)`. Defaults to `None`.
        batch_size: int. Training batch size. Defaults to 100 (the
            original's), capped at the number of training series.
        n_generate: int or `None`. Series generated for scoring; `None`
            generates as many as `held_out` has. Defaults to `None`.
        fidelity_metrics: names from `FIDELITY_METRICS` (`acf_mse`,
            `attribute_jsd`, `joint_attribute_jsd`, `length_w1`,
            `midpoint_w1`, `cross_correlation_w1`, `conditional_w1`,
            `discriminative_score`: lower is better for each); their sum is
            the objective. Defaults to `("acf_mse", "attribute_jsd")`.
        evaluate_every_epoch: bool. Score every epoch (the tuner then
            keeps the best epoch's weights) rather than only the last.
            Defaults to False.
        seed: int or `None`. Seed of the weights, the noise and the scoring.
            Defaults to 0.
        **kwargs: `keras_tuner.HyperModel` arguments (`name`, `tunable`).

    Example:

    ```python
    hypermodel = keras_dg.tuning.DoppelGANgerHyperModel(
        train, held_out, model_kwargs={"gen_feature_num_units": 64},
        search_space=keras_dg.tuning.SearchSpace.default(56).fix(
            aux_disc=True))
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective=hypermodel.objective, max_trials=20,
        directory="tuning", project_name="mba")
    tuner.search(epochs=50)
    best = tuner.get_best_models(1)[0]
    ```

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020, §5 (the fidelity metrics).
    """

    def __init__(
        self,
        train,
        held_out,
        model_kwargs=None,
        search_space=None,
        batch_size=100,
        n_generate=None,
        fidelity_metrics=DEFAULT_FIDELITY_METRICS,
        evaluate_every_epoch=False,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for value, name in ((train, "train"), (held_out, "held_out")):
            if not isinstance(value, TimeSeriesDataset):
                raise ValueError(
                    f"`{name}` must be a keras_dg.TimeSeriesDataset. "
                    f"Received: {type(value).__name__}."
                )
        _check_same_specs(train, held_out)
        model_kwargs = {} if model_kwargs is None else model_kwargs
        if not isinstance(model_kwargs, dict):
            raise ValueError(
                "`model_kwargs` must be a dict of DoppelGANger arguments. "
                f"Received: {type(model_kwargs).__name__}."
            )
        model_kwargs = dict(model_kwargs)
        for name in ("feature_outputs", "attribute_outputs",
                     "max_sequence_len"):
            if name in model_kwargs:
                raise ValueError(
                    f"`model_kwargs` must not hold {name!r}: it comes from "
                    "the training data."
                )
        if search_space is None:
            search_space = SearchSpace.default(train.max_sequence_len)
        elif not isinstance(search_space, SearchSpace):
            search_space = SearchSpace(search_space)
        # Fixed model arguments win over the space.
        search_space = SearchSpace(
            {
                name: entry
                for name, entry in search_space._entries.items()
                if name not in model_kwargs
            }
        )
        batch_size = check_positive_int(batch_size, "batch_size")
        n_generate = check_positive_int(
            n_generate, "n_generate", allow_none=True
        )
        fidelity_metrics = _check_fidelity_metrics(fidelity_metrics, held_out)
        evaluate_every_epoch = check_bool(
            evaluate_every_epoch, "evaluate_every_epoch"
        )
        seed = check_seed(seed, allow_none=True)

        self.train = train
        self.held_out = held_out
        self.model_kwargs = model_kwargs
        self.search_space = search_space
        self.batch_size = min(batch_size, len(train))
        self.n_generate = n_generate or len(held_out)
        self.fidelity_metrics = fidelity_metrics
        self.evaluate_every_epoch = evaluate_every_epoch
        self.seed = seed

    @property
    def objective(self):
        """`keras_tuner.Objective("fidelity", "min")`."""
        return kt.Objective(OBJECTIVE_NAME, direction="min")

    def model_config(self, hp):
        """The `DoppelGANger` keyword arguments of a trial (without the
        specs): the space's draws on `hp`, then `model_kwargs`."""
        config = self.search_space.sample(hp)
        config.update(self.model_kwargs)
        if self.seed is not None:
            config.setdefault("seed", self.seed)
        return config

    def build(self, hp):
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        model = DoppelGANger(
            self.train.feature_outputs,
            self.train.attribute_outputs,
            max_sequence_len=self.train.max_sequence_len,
            **self.model_config(hp),
        )
        model.compile()
        return model

    def fit(self, hp, model, *args, **kwargs):
        """Trains `model`, then scores it; returns
        `{"fidelity": ..., <each fidelity metric>: ...}`.

        With no positional data, trains on `train`. `callbacks` (the
        tuner's included) are passed on after the scoring callback, so they
        see `fidelity` in the logs; `batch_size` defaults to the
        hypermodel's; other keyword arguments go to `DoppelGANger.fit`.
        """
        x = args[0] if args else kwargs.pop("x", self.train)
        args = args[1:]
        epochs = kwargs.get("epochs", 1)
        scorer = _FidelityScorer(self, last_epoch=epochs - 1)
        kwargs["callbacks"] = [scorer] + list(kwargs.get("callbacks") or [])
        kwargs.setdefault("batch_size", self.batch_size)
        model.fit(x, *args, **kwargs)
        if scorer.best is None:
            # No epoch ran (initial_epoch >= epochs): score the model as is.
            return self.score(model)
        return dict(scorer.best)

    def score(self, model):
        """Generates with `model` and returns the fidelity dict
        `{"fidelity": ..., <each fidelity metric>: ...}`.

        Raises:
            keras_tuner.errors.FailedTrialError: when the generated series
                are not finite (the model diverged).
        """
        synthetic = model.generate(self.n_generate, seed=self.seed)
        for name in ("features", "attributes"):
            values = getattr(synthetic, name)
            if not np.all(np.isfinite(values)):
                raise kt.errors.FailedTrialError(
                    f"The generated {name} are not finite: the model "
                    "diverged."
                )
        result = evaluate(
            self.held_out,
            synthetic,
            seed=0 if self.seed is None else self.seed,
            metrics=list(self.fidelity_metrics),
        )
        terms = {name: result["summary"][name] for name in
                 self.fidelity_metrics}
        undefined = [name for name, value in terms.items() if value is None]
        if undefined:
            raise kt.errors.FailedTrialError(
                f"The fidelity metrics {undefined} are undefined for the "
                "generated series."
            )
        return {OBJECTIVE_NAME: float(sum(terms.values())), **terms}


class _FidelityScorer(keras.callbacks.Callback):
    """Writes the fidelity into the logs of the scored epochs and keeps the
    best result."""

    def __init__(self, hypermodel, last_epoch):
        super().__init__()
        self.hypermodel = hypermodel
        self.last_epoch = last_epoch
        self.best = None

    def score(self):
        result = self.hypermodel.score(self.model)
        if self.best is None or result[OBJECTIVE_NAME] < (
            self.best[OBJECTIVE_NAME]
        ):
            self.best = result
        return result

    def on_epoch_end(self, epoch, logs=None):
        if epoch != self.last_epoch and not (
            self.hypermodel.evaluate_every_epoch
        ):
            return
        for name, values in (logs or {}).items():
            if isinstance(values, (float, np.floating)) and not math.isfinite(
                values
            ):
                raise kt.errors.FailedTrialError(
                    f"Training diverged: `{name}` is {values} at epoch "
                    f"{epoch + 1}."
                )
        result = self.score()
        if logs is not None:
            logs.update(result)


def _check_same_specs(train, held_out):
    for name in ("feature_outputs", "attribute_outputs", "max_sequence_len"):
        if getattr(train, name) != getattr(held_out, name):
            raise ValueError(
                f"`held_out` must have the same {name} as `train`. Received "
                f"{getattr(held_out, name)} and {getattr(train, name)}."
            )


def _check_fidelity_metrics(metrics, held_out):
    metrics = check_metric_names(
        metrics, FIDELITY_METRICS, "fidelity_metrics",
        expected="metrics where lower is better",
    )
    if len(set(metrics)) != len(metrics):
        raise ValueError(
            f"`fidelity_metrics` names a metric twice: {list(metrics)}."
        )
    reasons = unavailable_metrics(held_out, metrics=list(metrics))
    if reasons:
        group, reason = next(iter(reasons.items()))
        names = [n for n in metrics if SCALAR_METRICS[n][0] == group]
        raise ValueError(
            f"`fidelity_metrics` {names} cannot be computed on `held_out`: "
            f"{reason}. Choose others with `fidelity_metrics=`."
        )
    return metrics
