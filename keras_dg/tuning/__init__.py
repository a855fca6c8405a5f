"""Hyperparameter search for DoppelGANger with KerasTuner.

`DoppelGANgerHyperModel` builds and scores one trial, `SearchSpace` says
what is searched, and `tune` runs a whole search (RandomSearch,
BayesianOptimization or Hyperband; also KerasTuner's distributed
chief/worker mode) and saves the best model. See `docs/scaling.md`.
"""

from keras_dg.tuning.doppelganger_hyper_model import FIDELITY_METRICS
from keras_dg.tuning.doppelganger_hyper_model import DoppelGANgerHyperModel
from keras_dg.tuning.search import distributed_role
from keras_dg.tuning.search import make_tuner
from keras_dg.tuning.search import summarize
from keras_dg.tuning.search import tune
from keras_dg.tuning.search_space import SearchSpace
from keras_dg.tuning.search_space import sample_len_choices
