import numpy as np
import pytest

from keras_dg import Output
from keras_dg.evaluation import autocorrelation_mse
from keras_dg.evaluation import memorization
from keras_dg.evaluation import plots
from tests.evaluation.helpers import make_dataset
from tests.evaluation.helpers import random_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG_SIGNATURE


def test_every_plot_writes_a_png(tmp_path):
    real = random_dataset(n=12, categories=(3, 25))
    synthetic = random_dataset(n=10, seed=1, categories=(3, 25))
    pairs = memorization(synthetic, real, real, n_closest=2)["closest_pairs"]
    calls = {
        "acf": (plots.plot_autocorrelation,
                (autocorrelation_mse(real, synthetic),)),
        "attributes": (plots.plot_attributes, (real, synthetic)),
        "lengths": (plots.plot_lengths, (real, synthetic)),
        "midpoints": (plots.plot_midpoints, (real, synthetic)),
        "samples": (plots.plot_samples, (real, synthetic)),
        "pairs": (plots.plot_closest_pairs, (synthetic, real, pairs)),
    }
    for name, (function, args) in calls.items():
        path = str(tmp_path / f"{name}.png")
        assert function(*args, path) == path
        assert _is_png(path), name


def test_samples_grid_is_capped_by_the_data(tmp_path):
    real = make_dataset(np.full((2, 5), 0.5), lengths=[1, 5])
    path = tmp_path / "samples.png"
    plots.plot_samples(real, real, str(path), n_rows=6)
    assert _is_png(path)


def test_samples_need_a_continuous_feature(tmp_path):
    discrete = make_dataset(
        np.ones((3, 4, 1)), feature_outputs=[Output("DISCRETE", 1)]
    )
    with pytest.raises(ValueError, match="continuous feature"):
        plots.plot_samples(discrete, discrete, str(tmp_path / "s.png"))
