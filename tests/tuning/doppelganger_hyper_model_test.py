import keras
import keras_tuner as kt
import numpy as np
import pytest

import keras_dg
from keras_dg.evaluation import attribute_distances
from keras_dg.evaluation import autocorrelation_mse
from keras_dg.evaluation import length_distance
from keras_dg.tuning import DoppelGANgerHyperModel
from keras_dg.tuning import SearchSpace
from tests.harness import TINY
from tests.harness import tiny_dataset
from tests.tuning.helpers import fast_space
from tests.tuning.helpers import held_out_set
from tests.tuning.helpers import train_set


def _hypermodel(**kwargs):
    config = dict(model_kwargs=TINY, search_space=fast_space(), batch_size=4)
    config.update(kwargs)
    return DoppelGANgerHyperModel(train_set(), held_out_set(), **config)


class LogsRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(dict(logs))


def test_build_draws_from_the_space_and_model_kwargs_win():
    hypermodel = _hypermodel(
        model_kwargs=dict(TINY, sample_len=4, g_lr=5e-4),
        search_space=SearchSpace.default(8).fix(d_rounds=2),
    )
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    assert isinstance(model, keras_dg.DoppelGANger) and model.compiled
    searched = {p.name for p in hp.space}
    assert "sample_len" not in searched and "g_lr" not in searched
    assert not searched & set(TINY)
    assert "d_lr" in searched
    assert model.sample_len == 4
    assert model.g_lr == 5e-4
    assert model.d_rounds == 2
    assert model.disc_num_units == TINY["disc_num_units"]
    assert model.d_lr == hp.get("d_lr")
    assert model.seed == 0
    assert hypermodel.objective.name == "fidelity"
    assert hypermodel.objective.direction == "min"


def test_fit_trains_on_train_and_returns_the_held_out_fidelity():
    hypermodel = _hypermodel()
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    recorder = LogsRecorder()
    result = hypermodel.fit(hp, model, epochs=2, callbacks=[recorder])
    # 12 training series in batches of 4, two epochs, one critic round.
    assert int(model.d_optimizer.iterations) == 6
    assert set(result) == {"fidelity", "acf_mse", "attribute_jsd"}
    # The same numbers from the evaluation functions directly.
    held_out = held_out_set()
    synthetic = model.generate(len(held_out), seed=0)
    acf = autocorrelation_mse(held_out, synthetic)["mse"]
    jsd = attribute_distances(held_out, synthetic)["js_divergence_mean"]
    assert result["acf_mse"] == pytest.approx(acf)
    assert result["attribute_jsd"] == pytest.approx(jsd)
    assert result["fidelity"] == pytest.approx(acf + jsd)
    assert result["fidelity"] > 0
    # Scored on the last epoch only; the tuner's callbacks (after ours)
    # see it in the logs.
    assert "fidelity" not in recorder.epochs[0]
    assert recorder.epochs[1]["fidelity"] == result["fidelity"]
    assert "d_loss" in recorder.epochs[1]


def test_evaluate_every_epoch_returns_the_best_epoch():
    hypermodel = _hypermodel(evaluate_every_epoch=True)
    hp = kt.HyperParameters()
    recorder = LogsRecorder()
    result = hypermodel.fit(
        hp, hypermodel.build(hp), epochs=3, callbacks=[recorder]
    )
    scores = [logs["fidelity"] for logs in recorder.epochs]
    assert len(scores) == 3
    assert result["fidelity"] == min(scores)


def test_fit_honours_given_data_batch_size_and_fidelity_metrics():
    hypermodel = _hypermodel(fidelity_metrics=["length_w1"], n_generate=5)
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    result = hypermodel.fit(
        hp, model, tiny_dataset(n=6, seed=3), batch_size=3, epochs=1
    )
    assert int(model.d_optimizer.iterations) == 2
    synthetic = model.generate(5, seed=0)
    expected = length_distance(held_out_set(), synthetic)["wasserstein"]
    assert result == {"fidelity": pytest.approx(expected),
                      "length_w1": pytest.approx(expected)}


def test_a_diverged_trial_is_reported_as_failed():
    hypermodel = _hypermodel()
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    weight = model.critic.trainable_weights[0]
    weight.assign(np.full(weight.shape, np.nan, "float32"))
    with pytest.raises(kt.errors.FailedTrialError, match="diverged"):
        hypermodel.fit(hp, model, epochs=1)


def test_nan_generations_are_reported_as_failed():
    hypermodel = _hypermodel()
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    for weight in model.feature_generator.trainable_weights:
        weight.assign(np.full(weight.shape, np.nan, "float32"))
    with pytest.raises(kt.errors.FailedTrialError, match="not finite"):
        hypermodel.score(model)


def _discrete_only():
    data = tiny_dataset(n=4)
    return keras_dg.TimeSeriesDataset(
        data.features[..., 1:3], data.attributes, data.gen_flag,
        [keras_dg.Output("DISCRETE", 2)], data.attribute_outputs,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(train=None), "`train` must be a keras_dg.TimeSeriesDataset"),
        (dict(held_out=tiny_dataset(n=4, t=4)), "same max_sequence_len"),
        (dict(model_kwargs={"max_sequence_len": 8}), "comes from"),
        (dict(model_kwargs=[1]), "`model_kwargs` must be a dict"),
        (dict(batch_size=0), "batch_size"),
        (dict(n_generate=-1), "n_generate"),
        (dict(seed=-1), "seed"),
        (dict(evaluate_every_epoch=1), "evaluate_every_epoch"),
        (dict(fidelity_metrics=[]), "at least one"),
        (dict(fidelity_metrics=["tstr_accuracy"]), "lower is better"),
        (dict(fidelity_metrics=["acf_mse", "acf_mse"]), "twice"),
        (dict(search_space={"units": lambda hp: 1}), "constructor argument"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    config = dict(train=train_set(), held_out=held_out_set())
    config.update(kwargs)
    with pytest.raises(ValueError, match=message):
        DoppelGANgerHyperModel(**config)


def test_numpy_integers_are_accepted_and_bools_refused():
    hypermodel = _hypermodel(batch_size=np.int64(4), n_generate=np.int32(3),
                             seed=np.int64(1))
    assert (hypermodel.batch_size, hypermodel.n_generate, hypermodel.seed) == (
        4, 3, 1
    )
    assert type(hypermodel.batch_size) is int
    for name in ("batch_size", "n_generate", "seed"):
        with pytest.raises(ValueError, match=f"`{name}` must be"):
            _hypermodel(**{name: np.bool_(True)})


def test_unavailable_fidelity_metrics_raise():
    data = _discrete_only()
    with pytest.raises(ValueError, match=r"\['acf_mse'\] cannot be computed"):
        DoppelGANgerHyperModel(data, data)
