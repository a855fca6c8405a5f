import keras
import pytest

# tf.distribute strategies exist only on the TensorFlow backend; mixed
# precision (mixed_precision_test.py) applies to every backend.
_TENSORFLOW_ONLY = (
    "distribute_test.py",
    "mirrored_strategy_test.py",
    "multi_worker_mirrored_strategy_test.py",
)


def pytest_collection_modifyitems(config, items):
    if keras.config.backend() == "tensorflow":
        return
    skip = pytest.mark.skip(
        reason="tf.distribute strategies need the TensorFlow backend"
    )
    for item in items:
        if item.path.name in _TENSORFLOW_ONLY:
            item.add_marker(skip)
