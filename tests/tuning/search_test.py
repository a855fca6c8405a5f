import json

import keras
import numpy as np
import pytest

import keras_dg
from keras_dg.tuning import DoppelGANgerHyperModel
from keras_dg.tuning import distributed_role
from keras_dg.tuning import make_tuner
from keras_dg.tuning import tune
from tests.distribute.processes import assert_all_succeeded
from tests.distribute.processes import child_env
from tests.distribute.processes import free_ports
from tests.distribute.processes import run_processes
from tests.tuning.child import MAX_TRIALS
from tests.tuning.helpers import TUNE_KWARGS
from tests.tuning.helpers import held_out_set
from tests.tuning.helpers import train_set


def _check_summary(summary, out_dir, n_trials):
    assert summary["role"] == "single"
    trials = summary["trials"]
    assert len(trials) == n_trials
    assert all(t["status"] == "COMPLETED" for t in trials)
    scores = [t["fidelity"] for t in trials]
    assert scores == sorted(scores)
    assert summary["best"] == trials[0]
    for trial in trials:
        terms = trial["metrics"]
        assert trial["fidelity"] == pytest.approx(
            terms["acf_mse"] + terms["attribute_jsd"]
        )
        assert "sample_len" in trial["hyperparameters"]
    assert summary["devices"]
    written = json.loads((out_dir / "tuning_summary.json").read_text())
    assert written == json.loads(json.dumps(summary))


def _check_best_model(summary):
    # The saved model is the best trial's: it scores the same again (up to
    # float noise when the trial trained on another device).
    model = keras.saving.load_model(summary["best_model"])
    assert isinstance(model, keras_dg.DoppelGANger)
    for name, value in summary["best"]["hyperparameters"].items():
        if not name.startswith("tuner/"):
            assert getattr(model, name) == pytest.approx(value), name
    hypermodel = DoppelGANgerHyperModel(train_set(), held_out_set())
    assert hypermodel.score(model)["fidelity"] == pytest.approx(
        summary["best"]["fidelity"], rel=1e-3
    )


@pytest.mark.parametrize(
    "tuner, max_trials, epochs, extra",
    [
        ("random", 2, 1, {}),
        # Slow: the same path with another oracle (`pytest -m slow`).
        pytest.param("bayesian", 2, 1, {}, marks=pytest.mark.slow),
        # Two 1-epoch trials, then the better one resumed to 2 epochs.
        ("hyperband", 3, 2, {"factor": 2}),
    ],
)
def test_tune_saves_a_reloadable_best_model(
    tmp_path, tuner, max_trials, epochs, extra
):
    summary = tune(
        train_set(), held_out_set(), tmp_path, tuner=tuner,
        max_trials=max_trials, epochs=epochs, **TUNE_KWARGS, **extra,
    )
    _check_summary(summary, tmp_path, max_trials)
    if tuner == "hyperband":
        resumed = [
            t for t in summary["trials"]
            if "tuner/trial_id" in t["hyperparameters"]
        ]
        assert len(resumed) == 1
        assert resumed[0]["hyperparameters"]["tuner/initial_epoch"] == 1
    _check_best_model(summary)


def test_tuner_arguments_are_checked(tmp_path):
    hypermodel = DoppelGANgerHyperModel(train_set(), held_out_set())
    with pytest.raises(ValueError, match="`tuner` must be one of"):
        make_tuner(hypermodel, tmp_path, tuner="grid")
    with pytest.raises(ValueError, match="max_trials"):
        make_tuner(hypermodel, tmp_path, max_trials=0)
    with pytest.raises(ValueError, match="epochs"):
        make_tuner(hypermodel, tmp_path, epochs=1.5)
    with pytest.raises(ValueError, match="`max_trials` must be a positive"):
        make_tuner(hypermodel, tmp_path, max_trials=np.bool_(True))
    # NumPy integers are integers (they were refused before).
    tuner = make_tuner(hypermodel, tmp_path, tuner="hyperband",
                       max_trials=np.int64(2), epochs=np.int64(3))
    assert tuner.oracle.max_trials == 2
    assert type(tuner.oracle.max_trials) is int


def test_distributed_role_from_the_environment(monkeypatch):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT",
                 "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(name, raising=False)
    assert distributed_role() is None
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT"):
        distributed_role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    with pytest.raises(ValueError, match="KERASTUNER_TUNER_ID"):
        distributed_role()
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed_role() == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert distributed_role() == "worker"


# Slow (three processes): run with `pytest -m slow`.
@pytest.mark.slow
def test_chief_and_two_workers_finish_a_search(tmp_path):
    (port,) = free_ports(1)
    oracle = dict(KERASTUNER_ORACLE_IP="127.0.0.1",
                  KERASTUNER_ORACLE_PORT=str(port))
    argv = ["-m", "tests.tuning.child", str(tmp_path)]
    results = run_processes(
        [
            (tuner_id, argv, child_env(KERASTUNER_TUNER_ID=tuner_id, **oracle))
            for tuner_id in ("chief", "tuner0", "tuner1")
        ],
        tmp_path,
        timeout=150,
    )
    assert_all_succeeded(results)
    summaries = {
        tuner_id: json.loads(
            (tmp_path / f"summary_{tuner_id}.json").read_text()
        )
        for tuner_id in ("chief", "tuner0", "tuner1")
    }
    assert summaries["tuner0"]["role"] == summaries["tuner1"]["role"] == (
        "worker"
    )
    chief = summaries["chief"]
    assert chief["role"] == "chief"
    assert len(chief["trials"]) == MAX_TRIALS
    assert all(t["status"] == "COMPLETED" for t in chief["trials"])
    # The workers trained the trials; the chief only served the oracle.
    fits = {
        tuner_id: len(path.read_text().split())
        for tuner_id in ("chief", "tuner0", "tuner1")
        for path in [tmp_path / f"fits_{tuner_id}.txt"]
        if path.exists()
    }
    assert "chief" not in fits
    assert sum(fits.values()) == MAX_TRIALS
    _check_best_model(chief)
