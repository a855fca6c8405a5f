"""Retraining the attribute generator (ALGORITHM §7).

The paper's way to hide a business secret such as the customer mix: keep the
feature generator and the min/max generator of a trained model, and retrain
only the attribute generator on data with the desired attribute
distribution. The critics start fresh and see zeros in place of the features
and min/max attributes, real and fake alike. The original meant to apply
these masks but fed the real tensors past them (TF1 feed semantics override
the masking ops), so its critics probably saw real features; here the masks
apply.
"""

from keras_dg.dataset import TimeSeriesDataset
from keras_dg.models.doppelganger import DoppelGANger


def retrain_attribute_generator(
    model,
    dataset,
    epochs,
    batch_size=100,
    reset_attribute_generator=True,
    compile_kwargs=None,
    **fit_kwargs,
):
    """Retrains `model`'s attribute generator on `dataset`'s attributes.

    Args:
        model: a trained `DoppelGANger`. It is not modified.
        dataset: `TimeSeriesDataset` with the desired attribute distribution
            (and the model's specs). Its features are not shown to the
            critics.
        epochs: int. Training epochs (the original's example used 100).
        batch_size: int. Defaults to 100.
        reset_attribute_generator: bool. Start the attribute generator from
            fresh weights, as the original does (it restores only the feature
            and min/max generators). Defaults to True.
        compile_kwargs: optional dict for `compile` (optimizers, ...).
        **fit_kwargs: passed to `fit` (callbacks, verbose, ...).

    Returns:
        A new `DoppelGANger` (`fix_feature_network=True`) whose feature and
        min/max generators hold the weights `model` generates with (its
        weight average when it has one, `ema_decay`) and whose attribute
        generator was retrained. It generates like any model.
    """
    if not isinstance(model, DoppelGANger):
        raise ValueError(
            f"`model` must be a DoppelGANger. Received: {type(model).__name__}"
        )
    if not isinstance(dataset, TimeSeriesDataset):
        raise ValueError(
            "`dataset` must be a TimeSeriesDataset. Received: "
            f"{type(dataset).__name__}"
        )
    model.check_dataset(dataset)
    config = model.get_config()
    config["fix_feature_network"] = True
    retrained = DoppelGANger.from_config(config)
    fixed = ["feature_generator"]
    if model.addi_generator is not None:
        fixed.append("addi_generator")
    if not reset_attribute_generator:
        fixed.append("attribute_generator")
    # The weights `model.generate` uses: its weight average when it has one.
    with model._generation_weights(use_ema=True):
        weights = {name: getattr(model, name).get_weights() for name in fixed}
    for name in fixed:
        getattr(retrained, name).set_weights(weights[name])
    retrained.compile(**(compile_kwargs or {}))
    retrained.fit(dataset, epochs=epochs, batch_size=batch_size, **fit_kwargs)
    return retrained
