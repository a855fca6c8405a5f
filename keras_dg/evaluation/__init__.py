"""Fidelity evaluation of synthetic time series (the paper's §5 metrics).

`evaluate(real, synthetic, train=None, seed=0, metrics=None,
sample_len=None, floor=True)` computes every metric into one JSON-able
dict, with the floor (real training vs. real data in the synthetic's place,
the best any generator can do) when `train` is given; `write_report` adds
plots and a Markdown + HTML page (in the table's names and units with a
`TableTransformer`), `format_summary` prints the summary beside its floor,
and `FidelityCallback` logs chosen metrics during `fit`. The individual
metric functions are exported too; `missingness_fidelity` scores the gaps
of data encoded with `missing="model"` (rates, gap lengths, rates per
attribute category) beside the floor; `long_series_fidelity` scores series
generated longer than the training window (`generate(n, length=...)`):
seams at the window boundaries, ACF over the whole length.
"""

from keras_dg.evaluation.autocorrelation import autocorrelation
from keras_dg.evaluation.autocorrelation import autocorrelation_mse
from keras_dg.evaluation.autocorrelation import block_artifact_score
from keras_dg.evaluation.autocorrelation import periodic_features
from keras_dg.evaluation.autocorrelation import smooth_features
from keras_dg.evaluation.autocorrelation import feature_autocorrelations
from keras_dg.evaluation.discriminative import discriminative_score
from keras_dg.evaluation.distributions import attribute_distances
from keras_dg.evaluation.distributions import conditional_distance
from keras_dg.evaluation.distributions import cross_correlation_distance
from keras_dg.evaluation.distributions import cross_correlations
from keras_dg.evaluation.distributions import js_divergence
from keras_dg.evaluation.distributions import length_distance
from keras_dg.evaluation.distributions import midpoint_distance
from keras_dg.evaluation.distributions import midpoints
from keras_dg.evaluation.downstream import default_classifiers
from keras_dg.evaluation.downstream import default_regressors
from keras_dg.evaluation.downstream import tstr_classification
from keras_dg.evaluation.downstream import tstr_regression
from keras_dg.evaluation.fidelity_callback import FidelityCallback
from keras_dg.evaluation.long_series import long_series_fidelity
from keras_dg.evaluation.long_series import seam_score
from keras_dg.evaluation.long_series import step_changes
from keras_dg.evaluation.long_series import window_profile
from keras_dg.evaluation.memorization import membership_inference
from keras_dg.evaluation.memorization import memorization
from keras_dg.evaluation.memorization import nearest_distances
from keras_dg.evaluation.metrics import GROUPS
from keras_dg.evaluation.metrics import SCALAR_METRICS
from keras_dg.evaluation.metrics import evaluate
from keras_dg.evaluation.metrics import unavailable_metrics
from keras_dg.evaluation.missingness import gap_lengths
from keras_dg.evaluation.missingness import missingness_distance
from keras_dg.evaluation.missingness import missingness_fidelity
from keras_dg.evaluation.report import format_summary
from keras_dg.evaluation.report import write_report
