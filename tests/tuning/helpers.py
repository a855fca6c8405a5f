"""Tiny, fast tuning setups shared by the tuning tests."""

from keras_dg.tuning import SearchSpace
from tests.harness import TINY
from tests.harness import tiny_dataset


def train_set():
    return tiny_dataset(n=12, seed=0)


def held_out_set():
    return tiny_dataset(n=8, seed=1)


def fast_space():
    """The default space with the slow-to-trace choices fixed small."""
    return SearchSpace.default(8).fix(
        d_rounds=1, num_packing=1, gen_feature_num_layers=1
    )


TUNE_KWARGS = dict(
    batch_size=4, model_kwargs=TINY, search_space=fast_space(), seed=0
)
