"""Fine-tuning from a preset on a technology the preset never saw (issue 15).

FCC_MBA's training split has five access technologies (attribute 1). The
held-out technology's series (`--technology`, default 0: 108 series) are
split at random into a fine-tuning set (80%) and a test set (20%); the other
technologies' series pretrain a model (`--config default`: the library's
defaults with the `FCC_MBA` preset; `paper`: `keras_dg.models.config.PAPER`
on top), saved with `save_to_preset`. Then, on the fine-tuning set only:

- `scratch`: a fresh model trained for `--epochs`;
- `finetune`: `DoppelGANger.from_preset(pretrained, compile=True)` (fresh
  optimizers) trained for up to `--epochs / 2`;
- `pretrained`: the preset as is (no training on the technology).

Both trainings stop at each of `--eval-epochs` (a learning curve, counted in
epochs of the same data and batch size: wall clock on a shared machine
measures the neighbours as much; the process CPU seconds are printed too),
generate features for the test set's attributes (`generate(attributes=...)`,
5 draws per series) and are scored against the test set
(`keras_dg.evaluation.evaluate`: ACF MSE, shape discriminative score,
midpoint W1), beside the floor (the fine-tuning set in the synthetic data's
place). The issue's target: `finetune` reaches `scratch`'s final fidelity
in at most half its training time. Per seed, the table says at which
epoch the fine-tuned model first reached the scratch run's final ACF MSE.

    python benchmarks/preset_finetune.py --data ../shared/data/FCC_MBA \
        --pretrain-epochs 1000 --epochs 400 --seeds 0 1 2 \
        --out benchmarks/runs/finetune

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


def _model(train, seed, config_name):
    import keras_dg
    from keras_dg.models.config import PAPER
    from keras_dg.presets import get_preset

    config = dict(get_preset("FCC_MBA")["config"])
    if config_name == "paper":
        config.update(PAPER)
    config["seed"] = seed
    return keras_dg.DoppelGANger(
        train.feature_outputs, train.attribute_outputs,
        train.max_sequence_len, **config,
    )


def _score(model, test, tune, seed):
    from keras_dg.evaluation import evaluate

    attributes = np.repeat(test.attributes, 5, axis=0)
    synthetic = model.generate(attributes=attributes, seed=seed)
    result = evaluate(test, synthetic, train=tune, seed=seed,
                      metrics=["autocorrelation", "discriminative",
                               "midpoints"])
    return ({k: result["summary"].get(k) for k in METRICS},
            {k: result["floor"].get(k) for k in METRICS})


def _curve(model, train, test, stops, batch_size, seed):
    """Train `model` to each epoch count in `stops`, scoring at each."""
    points, done, wall, cpu = [], 0, 0.0, 0.0
    for stop in stops:
        started, started_cpu = time.time(), time.process_time()
        model.fit(train, batch_size=min(batch_size, len(train)),
                  epochs=stop - done, verbose=0)
        wall += time.time() - started
        cpu += time.process_time() - started_cpu
        done = stop
        summary, floor = _score(model, test, tune=train, seed=seed)
        points.append({"epochs": stop, "seconds": wall, "cpu_seconds": cpu,
                       "metrics": summary, "floor": floor})
    return points


def _first_reaching(points, target, metric="acf_mse"):
    for point in points:
        if point["metrics"][metric] <= target:
            return point["epochs"]
    return None


def run_seed(data, args, seed):
    import keras

    import keras_dg

    keras.utils.set_random_seed(seed)
    start = data.attribute_outputs[0].dim
    width = data.attribute_outputs[1].dim
    technology = data.attributes[:, start:start + width].argmax(axis=1)
    held = technology == args.technology
    rng = np.random.default_rng(seed)
    held_index = rng.permutation(np.flatnonzero(held))
    cut = int(round(0.8 * len(held_index)))
    tune = data[np.sort(held_index[:cut])]
    test = data[np.sort(held_index[cut:])]
    others = _subset(data, ~held)
    print(f"seed {seed}: pretrain on {len(others)} series without "
          f"technology {args.technology}; fine-tune: {len(tune)}; "
          f"test: {len(test)}", flush=True)

    pretrained = _model(others, seed, args.config)
    pretrained.compile()
    started = time.time()
    pretrained.fit(others, batch_size=min(100, len(others)),
                   epochs=args.pretrain_epochs, verbose=0)
    pretrain_seconds = time.time() - started
    folder = os.path.join(args.out, f"pretrained_preset_seed{seed}")
    pretrained.save_to_preset(folder, overwrite=True, metadata={
        "description": f"FCC_MBA without technology {args.technology}"})
    summary, floor = _score(keras_dg.DoppelGANger.from_preset(folder),
                            test, tune, seed)
    print(f"  pretrained: {pretrain_seconds:.0f} s, ACF MSE "
          f"{summary['acf_mse']:.4g}", flush=True)

    stops = sorted(e for e in args.eval_epochs if e <= args.epochs)
    if args.epochs not in stops:
        stops.append(args.epochs)
    scratch = _model(tune, seed, args.config)
    scratch.compile()
    scratch_points = _curve(scratch, tune, test, stops, args.batch_size,
                            seed)
    finetune = keras_dg.DoppelGANger.from_preset(folder, compile=True)
    finetune_points = _curve(
        finetune, tune, test, [e for e in stops if e <= args.epochs // 2],
        args.batch_size, seed)
    target = scratch_points[-1]["metrics"]["acf_mse"]
    return {
        "seed": seed,
        "pretrain_seconds": pretrain_seconds,
        "pretrained": {"metrics": summary, "floor": floor},
        "scratch": scratch_points,
        "finetune": finetune_points,
        "finetune_reaches_scratch_acf_at": _first_reaching(
            finetune_points, target),
        "scratch_reaches_own_final_acf_at": _first_reaching(
            scratch_points, target),
    }


def _table(results, epochs):
    header = (f"{'seed':<6}{'run':<12}{'epochs':>7}{'cpu s':>8}"
              + "".join(f"{m:>28}" for m in METRICS))
    lines = [header]
    for result in results:
        seed = result["seed"]
        row = result["pretrained"]["metrics"]
        lines.append(f"{seed:<6}{'pretrained':<12}{0:>7}{'':>8}" + "".join(
            f"{row[m]:>28.4g}" for m in METRICS))
        for name in ("scratch", "finetune"):
            for point in result[name]:
                lines.append(
                    f"{seed:<6}{name:<12}{point['epochs']:>7}"
                    f"{point['cpu_seconds']:>8.0f}" + "".join(
                        f"{point['metrics'][m]:>28.4g}" for m in METRICS))
        floor = result["scratch"][-1]["floor"]
        lines.append(f"{seed:<6}{'floor':<12}{'':>7}{'':>8}" + "".join(
            f"{floor[m]:>28.4g}" for m in METRICS))
        reached = result["finetune_reaches_scratch_acf_at"]
        lines.append(
            f"{seed:<6}fine-tuning reaches the scratch run's final ACF MSE "
            f"({result['scratch'][-1]['metrics']['acf_mse']:.4g}, "
            f"{epochs} epochs) at: "
            + (f"{reached} epochs" if reached is not None
               else f"not within {epochs // 2} epochs"))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--technology", type=int, default=0)
    parser.add_argument("--config", choices=("default", "paper"),
                        default="default",
                        help="the FCC_MBA preset on the library's defaults, "
                             "or on the paper's (config.PAPER)")
    parser.add_argument("--pretrain-epochs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--eval-epochs", default="25,50,100,200,400",
                        help="comma-separated epoch counts at which both "
                             "runs are scored")
    parser.add_argument("--batch-size", type=int, default=20,
                        help="of the held-out technology's runs (the "
                             "pretraining: 100, the paper's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default="benchmarks/runs/finetune")
    args = parser.parse_args(argv)
    args.eval_epochs = [int(e) for e in args.eval_epochs.split(",") if e]
    if args.epochs < 2 or any(e < 1 for e in args.eval_epochs):
        parser.error(f"--epochs must be >= 2 and --eval-epochs positive, "
                     f"got {args.epochs} and {args.eval_epochs}")

    from keras_dg.data import load_dg

    data = load_dg(args.data, split="train")
    os.makedirs(args.out, exist_ok=True)
    results = []
    for seed in args.seeds:
        results.append(run_seed(data, args, seed))
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"args": vars(args), "runs": results}, f, indent=2)
    print(_table(results, args.epochs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
