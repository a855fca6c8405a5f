"""DoppelGANger models."""

from keras_dg.models.doppelganger import DoppelGANger
