"""What the pipeline's tests share: a tiny run and a tiny long table."""

import numpy as np
import pandas as pd

# A tiny run: the web preset's quick model, one epoch, two cheap metrics.
TINY_RUN = dict(
    preset="web",
    model_kwargs={"sample_len": 2},
    quick=True,
    epochs=1,
    metrics=["acf_mse", "lengths"],
    verbose=0,
    tensorboard=False,
)


def long_table(n=10, t=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for step in range(rng.integers(2, t + 1)):
            rows.append({
                "host": f"h{i}", "minute": step,
                "cpu": float(rng.uniform(0, 100)),
                "os": ["linux", "bsd"][i % 2],
            })
    return pd.DataFrame(rows)
