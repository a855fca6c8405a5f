"""Fine-tuning from a preset on a technology the preset never saw (issue 15).

FCC_MBA's training split has five access technologies (attribute 1). The
held-out technology's series (`--technology`, default 0: 108 series) are
split at random into a fine-tuning set (80%) and a test set (20%); the other
technologies' series pretrain a model (the paper's configuration:
`keras_dg.models.config.PAPER` + the `FCC_MBA` preset), saved with
`save_to_preset`. Then, on the held-out technology's fine-tuning set only:

- `scratch`: a fresh model trained for `--epochs`;
- `finetune`: `DoppelGANger.from_preset(pretrained, compile=True)` trained
  for `--epochs / 2` (fresh optimizers): half the training time, counted
  in epochs of the same data and batch size (wall clock is printed too,
  but on a shared machine it measures the neighbours as much);
- `pretrained`: the preset as is (no training on the technology);

each generates features for the test set's attributes (`generate(
attributes=...)`, 5 draws per series) and is scored against the test set
(`keras_dg.evaluation.evaluate`: ACF MSE, shape discriminative score,
midpoint W1), beside the floor (the fine-tuning set in the synthetic data's
place). The issue's target: `finetune` reaches `scratch`'s fidelity in at
most half its training time.

    python benchmarks/preset_finetune.py --data ../shared/data/FCC_MBA \
        --pretrain-epochs 1000 --epochs 400 --out benchmarks/runs/finetune

Prints a table (also written as JSON to `--out`/results.json).
"""

import argparse
import json
import os
import time

import numpy as np

METRICS = ("acf_mse", "shape_discriminative_score", "midpoint_w1")


def _subset(dataset, mask):
    return dataset[np.flatnonzero(mask)]


def _model(train, seed):
    import keras_dg
    from keras_dg.models.config import PAPER
    from keras_dg.presets import get_preset

    config = {**get_preset("FCC_MBA")["config"], **PAPER, "seed": seed}
    return keras_dg.DoppelGANger(
        train.feature_outputs, train.attribute_outputs,
        train.max_sequence_len, **config,
    )


def _fit(model, train, epochs, batch_size):
    started = time.time()
    history = model.fit(train, batch_size=min(batch_size, len(train)),
                        epochs=epochs, verbose=0)
    return time.time() - started, len(history.history.get("d_loss", []))


def _score(model, test, tune, seed):
    from keras_dg.evaluation import evaluate

    attributes = np.repeat(test.attributes, 5, axis=0)
    synthetic = model.generate(attributes=attributes, seed=seed)
    result = evaluate(test, synthetic, train=tune, seed=seed,
                      metrics=["autocorrelation", "discriminative",
                               "midpoints"])
    return ({k: result["summary"].get(k) for k in METRICS},
            {k: result["floor"].get(k) for k in METRICS})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--technology", type=int, default=0)
    parser.add_argument("--pretrain-epochs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=20,
                        help="of the held-out technology's runs (the "
                             "pretraining: 100, the paper's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/runs/finetune")
    args = parser.parse_args(argv)

    import keras

    import keras_dg
    from keras_dg.data import load_dg

    keras.utils.set_random_seed(args.seed)
    data = load_dg(args.data, split="train")
    start = data.attribute_outputs[0].dim
    width = data.attribute_outputs[1].dim
    technology = data.attributes[:, start:start + width].argmax(axis=1)
    held = technology == args.technology
    rng = np.random.default_rng(args.seed)
    held_index = rng.permutation(np.flatnonzero(held))
    cut = int(round(0.8 * len(held_index)))
    tune = data[np.sort(held_index[:cut])]
    test = data[np.sort(held_index[cut:])]
    others = _subset(data, ~held)
    print(f"pretrain: {len(others)} series without technology "
          f"{args.technology}; fine-tune: {len(tune)}; test: {len(test)}")
    os.makedirs(args.out, exist_ok=True)

    rows = {}
    pretrained = _model(others, args.seed)
    pretrained.compile()
    seconds, epochs = _fit(pretrained, others, args.pretrain_epochs, 100)
    folder = os.path.join(args.out, "pretrained_preset")
    pretrained.save_to_preset(folder, overwrite=True, metadata={
        "description": f"FCC_MBA without technology {args.technology}"})
    rows["pretrained (no tuning)"] = (0.0, 0, *_score(
        keras_dg.DoppelGANger.from_preset(folder), test, tune, args.seed))
    print(f"pretrained: {seconds:.0f} s, {epochs} epochs")

    scratch = _model(tune, args.seed)
    scratch.compile()
    seconds, epochs = _fit(scratch, tune, args.epochs, args.batch_size)
    rows["scratch"] = (seconds, epochs,
                       *_score(scratch, test, tune, args.seed))

    finetune = keras_dg.DoppelGANger.from_preset(folder, compile=True)
    seconds, epochs = _fit(finetune, tune, max(1, args.epochs // 2),
                           args.batch_size)
    rows["finetune"] = (seconds, epochs,
                        *_score(finetune, test, tune, args.seed))

    floor = rows["scratch"][3]
    header = f"{'run':<24}{'seconds':>9}{'epochs':>8}" + "".join(
        f"{m:>30}" for m in METRICS)
    lines = [header]
    for name, (seconds, epochs, summary, _) in rows.items():
        lines.append(f"{name:<24}{seconds:>9.0f}{epochs:>8}" + "".join(
            f"{summary[m]:>30.4g}" for m in METRICS))
    lines.append(f"{'floor (real vs real)':<24}{'':>9}{'':>8}" + "".join(
        f"{floor[m]:>30.4g}" for m in METRICS))
    print("\n".join(lines))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "rows": {
            k: {"seconds": v[0], "epochs": v[1], "metrics": v[2],
                "floor": v[3]} for k, v in rows.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
