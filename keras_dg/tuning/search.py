"""`tune`: a KerasTuner search over DoppelGANger's hyperparameters, from
the data to a saved best model (what `keras-dg tune` runs)."""

import os
from pathlib import Path

import keras
import keras_tuner as kt

from keras_dg.tuning.doppelganger_hyper_model import DEFAULT_FIDELITY_METRICS
from keras_dg.tuning.doppelganger_hyper_model import OBJECTIVE_NAME
from keras_dg.files import atomic_write
from keras_dg.files import atomic_write_json
from keras_dg.tuning.doppelganger_hyper_model import DoppelGANgerHyperModel
from keras_dg.validation import check_one_of
from keras_dg.validation import check_positive_int

TUNERS = {
    "random": kt.RandomSearch,
    "bayesian": kt.BayesianOptimization,
    "hyperband": kt.Hyperband,
}
BEST_MODEL_FILE = "best_model.keras"
SUMMARY_FILE = "tuning_summary.json"
PROJECT_NAME = "doppelganger"


def distributed_role():
    """This process's role in KerasTuner's distributed mode.

    Returns `None` when not distributed (no `KERASTUNER_ORACLE_IP`),
    `"chief"` when `KERASTUNER_TUNER_ID` contains "chief" (it serves the
    oracle), else `"worker"` (it runs trials).

    Raises:
        ValueError: when `KERASTUNER_ORACLE_IP` is set without
            `KERASTUNER_ORACLE_PORT` or `KERASTUNER_TUNER_ID`.
    """
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not os.environ.get(name):
            raise ValueError(
                f"KERASTUNER_ORACLE_IP is set but {name} is not: "
                "distributed tuning needs KERASTUNER_ORACLE_IP, "
                "KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID ('chief' "
                "for the oracle, e.g. 'tuner0' for each worker)."
            )
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else (
        "worker"
    )


def make_tuner(
    hypermodel,
    out_dir,
    tuner="random",
    max_trials=10,
    epochs=10,
    project_name=PROJECT_NAME,
    overwrite=False,
    seed=0,
    **tuner_kwargs,
):
    """A KerasTuner tuner that minimises `hypermodel.objective`.

    Args:
        hypermodel: `DoppelGANgerHyperModel`.
        out_dir: str or path. The tuner's `directory` (trial checkpoints and
            the oracle's state); shared by all processes when distributed.
        tuner: "random" (`RandomSearch`), "bayesian"
            (`BayesianOptimization`) or "hyperband" (`Hyperband`, with
            `max_epochs=epochs`). Defaults to "random".
        max_trials: int. Most trials to run, Hyperband's included.
            Defaults to 10.
        epochs: int. Hyperband's `max_epochs` (the other tuners take the
            epochs in `search`). Defaults to 10.
        project_name: str. Subfolder of `out_dir`. Defaults to
            "doppelganger".
        overwrite: bool. Start afresh instead of resuming a search found in
            `out_dir`. Defaults to False.
        seed: int or `None`. The oracle's seed. Defaults to 0.
        **tuner_kwargs: other arguments of the tuner (`factor`,
            `num_initial_points`, `distribution_strategy`, ...).

    Returns:
        A `keras_tuner.Tuner`.
    """
    tuner = check_one_of(tuner, "tuner", TUNERS)
    max_trials = check_positive_int(max_trials, "max_trials")
    epochs = check_positive_int(epochs, "epochs")
    kwargs = dict(
        hypermodel=hypermodel,
        objective=hypermodel.objective,
        directory=str(out_dir),
        project_name=project_name,
        overwrite=overwrite,
        seed=seed,
    )
    kwargs.update(tuner_kwargs)
    if tuner == "hyperband":
        instance = kt.Hyperband(max_epochs=epochs, **kwargs)
        # Hyperband sizes its brackets from max_epochs; cap its trials too.
        instance.oracle.max_trials = max_trials
        return instance
    return TUNERS[tuner](max_trials=max_trials, **kwargs)


def tune(
    train,
    held_out,
    out_dir,
    tuner="random",
    max_trials=10,
    epochs=10,
    batch_size=100,
    model_kwargs=None,
    search_space=None,
    fidelity_metrics=DEFAULT_FIDELITY_METRICS,
    n_generate=None,
    seed=0,
    overwrite=False,
    callbacks=None,
    verbose=0,
    **tuner_kwargs,
):
    """Searches DoppelGANger's hyperparameters for held-out fidelity and
    saves the best model.

    Builds a `DoppelGANgerHyperModel`, runs the tuner, then writes into
    `out_dir`: `best_model.keras` (the best trial's model, reloadable with
    `keras.saving.load_model`) and `tuning_summary.json` (every trial's
    status, fidelity terms and hyperparameters, best first). Calling it
    again with the same `out_dir` resumes the search unless `overwrite`.

    Distributed (KerasTuner's chief/worker mode, `docs/scaling.md`): with
    `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT` and
    `KERASTUNER_TUNER_ID` set, the chief (`KERASTUNER_TUNER_ID=chief`)
    serves the oracle until the workers have run `max_trials` trials, then
    saves the best model; each worker runs trials and returns. All of them
    need the same `out_dir` (a shared file system) and the same arguments.

    Args:
        train: `TimeSeriesDataset`. The training series.
        held_out: `TimeSeriesDataset`. Held-out real series for the score.
        out_dir: str or path. Where the search and its results go.
        tuner: "random", "bayesian" or "hyperband". Defaults to "random".
        max_trials: int. Number of trials. Defaults to 10.
        epochs: int. Epochs per trial (Hyperband's maximum). Defaults to 10.
        batch_size: int. Defaults to 100.
        model_kwargs: dict or `None`. Fixed `DoppelGANger` arguments.
        search_space: `SearchSpace`, dict or `None` (the default space).
        fidelity_metrics: the metrics summed into the objective. Defaults
            to `("acf_mse", "attribute_jsd")`.
        n_generate: int or `None`. Series generated per score (`None`: as
            many as `held_out`).
        seed: int or `None`. Seeds the trials and the oracle. Defaults to 0.
        overwrite: bool. Discard a previous search in `out_dir` (ignored
            on distributed workers).
        callbacks: list of Keras callbacks for every trial's `fit`.
        verbose: int. Verbosity of `fit` and of the tuner. Defaults to 0.
        **tuner_kwargs: passed to the tuner (see `make_tuner`).

    Returns:
        The summary dict written to `tuning_summary.json`: `role`
        (`"single"` or `"chief"`), `best_model` (its path), `best` (the
        best trial), `trials`, `tuner`, `objective` and `devices`. On a
        worker, only `{"role": "worker", "tuner_id": ..., "best_model":
        None}`.

    Example:

    ```python
    summary = keras_dg.tuning.tune(train, test, "runs/tuning",
                                   tuner="bayesian", max_trials=30,
                                   epochs=100)
    model = keras.saving.load_model(summary["best_model"])
    ```
    """
    role = distributed_role() or "single"
    hypermodel = DoppelGANgerHyperModel(
        train, held_out, model_kwargs=model_kwargs,
        search_space=search_space, batch_size=batch_size,
        n_generate=n_generate, fidelity_metrics=fidelity_metrics, seed=seed,
    )
    out_dir = Path(out_dir)
    instance = make_tuner(
        hypermodel, out_dir, tuner=tuner, max_trials=max_trials,
        epochs=epochs, seed=seed,
        # A worker must not delete what the chief and the others write.
        overwrite=overwrite and role != "worker", **tuner_kwargs,
    )
    search_kwargs = dict(callbacks=list(callbacks or []), verbose=verbose)
    if tuner != "hyperband":
        search_kwargs["epochs"] = epochs
    instance.search(**search_kwargs)
    if role == "worker":
        # The trials are the chief's; it summarizes and saves them.
        return {
            "role": role,
            "tuner_id": os.environ["KERASTUNER_TUNER_ID"],
            "best_model": None,
        }
    return _save_results(instance, tuner, role, out_dir)


def _save_results(instance, tuner_name, role, out_dir):
    """Writes the best model and the summary of a finished search."""
    summary = summarize(instance, tuner_name)
    summary["role"] = role
    summary["best_model"] = None
    if summary["best"] is None:
        raise RuntimeError(
            f"No trial completed (statuses: "
            f"{[t['status'] for t in summary['trials']]}); see the errors "
            "above. Nothing was saved."
        )
    best_path = out_dir / BEST_MODEL_FILE
    with atomic_write(best_path) as tmp:
        instance.get_best_models(1)[0].save(tmp)
    summary["best_model"] = str(best_path)
    atomic_write_json(out_dir / SUMMARY_FILE, summary)
    return summary


def summarize(tuner, tuner_name=None):
    """A JSON-able summary of a tuner's trials, best first.

    Returns:
        dict with `tuner`, `objective`, `devices` (where this process ran
        its trials), `trials` (each with `trial_id`, `status`, `fidelity`,
        the fidelity terms under `metrics`, and `hyperparameters`) and
        `best` (the first completed trial, or `None`).
    """
    hypermodel = tuner.hypermodel
    names = getattr(hypermodel, "fidelity_metrics", ())
    trials = []
    for trial in tuner.oracle.trials.values():
        metrics = {}
        for name in names:
            if trial.metrics.exists(name):
                metrics[name] = trial.metrics.get_last_value(name)
        trials.append(
            {
                "trial_id": trial.trial_id,
                "status": str(trial.status),
                OBJECTIVE_NAME: trial.score,
                "metrics": metrics,
                "hyperparameters": dict(trial.hyperparameters.values),
            }
        )
    completed = sorted(
        (t for t in trials
         if t["status"] == "COMPLETED" and t[OBJECTIVE_NAME] is not None),
        key=lambda t: t[OBJECTIVE_NAME],
    )
    others = [t for t in trials if t not in completed]
    return {
        "tuner": tuner_name or type(tuner).__name__,
        "objective": f"{OBJECTIVE_NAME} (min)",
        "devices": _devices(),
        "trials": completed + others,
        "best": completed[0] if completed else None,
    }


def _devices():
    """The devices Keras trains on (`keras.distribution` is JAX and
    TensorFlow only)."""
    try:
        return keras.distribution.list_devices()
    except AttributeError:
        import torch

        if torch.cuda.is_available():
            return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        return ["cpu:0"]

