"""Reusable DoppelGANger layers."""

from keras_dg.layers.attribute_generator import AttributeGenerator
from keras_dg.layers.batched_lstm_generator import BatchedLSTMGenerator
from keras_dg.layers.packed_critic import PackedCritic
