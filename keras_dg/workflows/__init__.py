"""The paper's workflows around a trained model."""

from keras_dg.workflows.retraining import retrain_attribute_generator
