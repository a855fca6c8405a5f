"""One process of a distributed search (KerasTuner chief/worker mode):

    KERASTUNER_TUNER_ID=chief|tuner0|... KERASTUNER_ORACLE_IP=127.0.0.1 \\
    KERASTUNER_ORACLE_PORT=... python -m tests.tuning.child OUT_DIR

Writes `summary_<tuner id>.json` (what `tune` returned) and appends a line
to `fits_<tuner id>.txt` for every trial this process trained.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402

import keras  # noqa: E402

from keras_dg.tuning import tune  # noqa: E402
from tests.tuning.helpers import TUNE_KWARGS  # noqa: E402
from tests.tuning.helpers import held_out_set  # noqa: E402
from tests.tuning.helpers import train_set  # noqa: E402

MAX_TRIALS = 2


class FitCounter(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        with open(self.path, "a") as f:
            f.write("fit\n")


if __name__ == "__main__":
    out = sys.argv[1]
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    summary = tune(
        train_set(),
        held_out_set(),
        out,
        max_trials=MAX_TRIALS,
        epochs=1,
        callbacks=[FitCounter(os.path.join(out, f"fits_{tuner_id}.txt"))],
        **TUNE_KWARGS,
    )
    with open(os.path.join(out, f"summary_{tuner_id}.json"), "w") as f:
        json.dump(summary, f)
