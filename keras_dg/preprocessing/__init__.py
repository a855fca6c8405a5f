"""Encodings the model applies to data on the way in and out."""

from keras_dg.preprocessing.gen_flag import add_gen_flag
from keras_dg.preprocessing.gen_flag import check_sample_len
from keras_dg.preprocessing.gen_flag import gen_flag_output
from keras_dg.preprocessing.per_sample_normalization import addi_outputs
from keras_dg.preprocessing.per_sample_normalization import (
    normalize_per_sample,
)
from keras_dg.preprocessing.per_sample_normalization import (
    renormalize_per_sample,
)
