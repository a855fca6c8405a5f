"""Data in and out: the original format, tables, and the built-in dataset."""

from keras_dg.data.column_checks import describe_columns
from keras_dg.data.conditioning import encode_attributes
from keras_dg.data.conditioning import fixed_attributes
from keras_dg.data.flights import load_flights
from keras_dg.data.flights import load_flights_table
from keras_dg.data.original_format import dumps_outputs
from keras_dg.data.original_format import load_dg
from keras_dg.data.original_format import save_dg
from keras_dg.data.readers import expand_columns
from keras_dg.data.readers import load_any
from keras_dg.data.readers import load_folder_data
from keras_dg.data.readers import load_model
from keras_dg.data.readers import load_table_data
from keras_dg.data.readers import parse_time_column
from keras_dg.data.readers import read_table
from keras_dg.data.parquet_series import ParquetSeries
from keras_dg.data.parquet_series import from_parquet
from keras_dg.data.restricted_unpickler import RestrictedUnpickler
from keras_dg.data.restricted_unpickler import UnsafePickleError
from keras_dg.data.restricted_unpickler import load_outputs
from keras_dg.data.table_transformer import TableTransformer
from keras_dg.data.tables import from_arrays
from keras_dg.data.tables import from_dataframe
from keras_dg.data.tables import from_wide_dataframe
