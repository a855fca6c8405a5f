"""The peer side of the benchmarks: gretel-synthetics' PyTorch DGAN, on CPU.

Runs INSIDE the peer's virtual environment (set it up once with
`bash benchmarks/setup_peer.sh`); it never imports keras_dg. Each run prints ONE JSON line
on stdout (what `common.run_json` parses); logs and warnings go to stderr.

Commands (from the repository root):
```
benchmarks/.peer-venv/bin/python benchmarks/peer_dgan.py --task train \
    --shape mba --data ../shared/data/FCC_MBA --n 2000 --epochs 5
benchmarks/.peer-venv/bin/python benchmarks/peer_dgan.py --task train \
    --shape pageview --n 500 --epochs 3
benchmarks/.peer-venv/bin/python benchmarks/peer_dgan.py --task generate \
    --shape pageview --n 500 --epochs 0 --n-generate 5000
benchmarks/.peer-venv/bin/python benchmarks/peer_dgan.py --task fidelity \
    --shape mba --data ../shared/data/FCC_MBA --seconds 600 --out runs/peer_mba.npz
```

Tasks:
- `train`: trains `--epochs` epochs on `--n` series; reports the training wall time (the
  training loop only: imports, data building, encoding and torch's lazy import of
  torch._dynamo on the first optimizer are done before the clock starts), sequences/s
  (n * epochs / seconds), per-epoch times, the rate without the first epoch
  (`steady_sequences_per_s`), CPU use and peak memory.
- `generate`: trains `--epochs` epochs (0 is fine: speed does not depend on the weights),
  generates one warm-up chunk (timed apart), then times the generation of `--n-generate`
  series (default `--n`) through the public `generate_numpy`, in chunks of `--gen-batch`,
  `--gen-repeats` times (5), and reports the median.
- `fidelity`: trains on the FCC_MBA train split (all of it unless `--n`), or on the
  arrays of `--arrays NPZ` (any data written by `common.save_dataset`, as
  `fidelity.py` does; its schema sets T, S, the one-hot widths, and whether example
  scaling and the attribute critic are on), for `--seconds`
  of wall clock or, with `--clock cpu`, of this process's CPU time (checked after every
  batch), then generates `--n-generate` series (default:
  the training size) and writes them to `--out` as an npz in the original format
  (`data_feature` [N, T, F] in the data's encoded range, `data_attribute` one-hot,
  `data_gen_flag` ones), ready to be compared with the test split.

The model is configured like keras-dg's (and the original's) paper setup: attribute MLP of
100 units with 2 hidden layers plus output heads (the original counts this as
`attribute_num_layers=3`; gretel's `attribute_num_layers` counts hidden layers only, so it
is set to 2), noise sizes 5 and 5, LSTM 1 x 100, critics of 4 hidden layers of 200 units
plus a linear output (the original's `num_layers=5`), batch 100, one critic round and one
generator round per batch, gradient penalty 10 on both critics, the auxiliary attribute
critic on (`use_attribute_discriminator`), per-sample min/max attributes on
(`apply_example_scaling`, the original's self_norm), Adam lr 1e-3 and beta1 0.5, CPU.
gretel hard-codes its critics as 5 hidden layers of 200 units; this script rebuilds the
two critics with `--critic-hidden-layers` (default 4, as the original) before training;
pass 5 to measure the peer exactly as shipped. The features are already in their encoded
range, so gretel's global feature scaling is off; the categorical attributes are given as
integer codes with `OneHotEncodedOutput(dim=k)`, so the one-hot widths (including
categories without rows) equal ours.

Known differences of the peer that no setting changes (they are the peer's behaviour, not
this script's): it runs the generator forward once per batch and reuses those fakes for
the critic, auxiliary-critic and generator steps, without detaching them in the critic
steps; its DataLoader shuffles without replacement and keeps the last partial batch; it
generates no gen-flag output for fixed-length data; one attribute noise vector feeds both
attribute MLPs; its gradient-penalty norm is taken over the whole batch, not per sample.

Generation: `generate_numpy(n)` runs the generator in eval mode (BatchNorm moving stats)
in chunks of `config.batch_size`, then maps back to the data space (argmax of the one-hot
attributes, undoing the per-sample min/max scaling; values may leave [0, 1] slightly, as
in the original). It does not disable autograd, which makes torch's CPU LSTM several
times slower at T=550. This script measures the peer at its best by default: chunks of
`--gen-batch` (1000, the same default as keras-dg's `generate`) under
`torch.inference_mode()`; `--gen-autograd` measures the call exactly as shipped.
"""

import argparse
import importlib.metadata
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402  (plain numpy helpers shared with the keras-dg side)

# The peer's CPU runs print deprecation warnings for torch.cuda.amp and category_encoders
# on every import or batch; they are noise here (they go to stderr anyway).
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*CUDA is not available.*")
warnings.filterwarnings("ignore", message=".*pin_memory.*")


class _BudgetReached(Exception):
    """Raised from the progress callback to stop training at the wall-clock budget."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Benchmark gretel-synthetics' DGAN (the peer) on the keras-dg shapes.",
    )
    parser.add_argument("--shape", default=None, choices=sorted(common.SHAPES))
    parser.add_argument(
        "--arrays",
        default=None,
        help="Train on this npz (common.save_dataset: arrays and schema) instead of a "
        "--shape; its schema also sets example scaling (self_norm) and the attribute critic.",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="mba: the FCC_MBA folder (original format), e.g. ../shared/data/FCC_MBA. "
        "pageview: optional npz written by common.save_arrays; built in-process if absent.",
    )
    parser.add_argument("--n", type=int, default=None, help="Number of training series.")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--task", required=True, choices=["train", "generate", "fidelity"])
    parser.add_argument("--seconds", type=float, default=None, help="fidelity: training budget.")
    parser.add_argument("--clock", choices=common.CLOCKS, default="wall",
                        help="What --seconds counts: wall clock or this process's CPU "
                        "seconds (all threads; fair beside other jobs).")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads.")
    parser.add_argument("--interop-threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="fidelity: npz of the generated data.")
    parser.add_argument("--n-generate", type=int, default=None)
    parser.add_argument("--gen-batch", type=int, default=1000, help="Generation chunk size.")
    parser.add_argument("--gen-repeats", type=int, default=5,
                        help="Timed generations; the median is reported.")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--critic-hidden-layers", type=int, default=4)
    parser.add_argument(
        "--gen-autograd",
        action="store_true",
        help="Generate exactly as the peer's generate_numpy does, with autograd recording "
        "(much slower at T=550); by default generation runs under torch.inference_mode().",
    )
    args = parser.parse_args(argv)
    _validate(parser, args)
    return args


def _validate(parser, args):
    def fail(message):
        parser.error(message)  # exits with status 2 and the usage line

    if (args.shape is None) == (args.arrays is None):
        fail("give exactly one of --shape and --arrays.")
    if args.shape == "mba" and args.data is None:
        fail("--data is required for --shape mba (the FCC_MBA folder).")
    if args.shape == "pageview" and args.data is None and args.n is None:
        fail("--n is required for --shape pageview unless --data names an npz.")
    if args.n is not None and args.n < 2:
        fail(f"--n must be >= 2, received {args.n}.")
    if args.epochs < 0:
        fail(f"--epochs must be >= 0, received {args.epochs}.")
    if args.task == "train" and args.epochs < 1:
        fail(f"--epochs must be >= 1 for --task train, received {args.epochs}.")
    if args.task == "fidelity":
        if args.shape != "mba" and args.arrays is None:
            fail("--task fidelity needs --shape mba or --arrays (real data with a held-out "
                 "test split).")
        if args.seconds is None or not args.seconds > 0:
            fail(f"--seconds must be > 0 for --task fidelity, received {args.seconds}.")
        if args.out is None:
            fail("--out is required for --task fidelity.")
    for name in ("threads", "interop_threads", "n_generate", "gen_batch", "gen_repeats",
                 "batch_size", "critic_hidden_layers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            fail(f"--{name.replace('_', '-')} must be >= 1, received {value}.")
    if args.seed < 0:
        fail(f"--seed must be >= 0, received {args.seed}.")


def build_model(data, args):
    """Builds the peer DGAN with explicit outputs (so widths match ours)."""
    from gretel_synthetics.timeseries_dgan.config import DGANConfig, Normalization
    from gretel_synthetics.timeseries_dgan.dgan import DGAN
    from gretel_synthetics.timeseries_dgan.torch_modules import Discriminator
    from gretel_synthetics.timeseries_dgan.transformations import (
        ContinuousOutput,
        OneHotEncodedOutput,
    )

    norms = {name: getattr(Normalization, name) for name in ("ZERO_ONE", "MINUSONE_ONE")}
    feature_norms = data["feature_normalizations"]
    config = DGANConfig(
        max_sequence_len=data["max_sequence_len"],
        sample_len=data["sample_len"],
        attribute_noise_dim=5,
        feature_noise_dim=5,
        attribute_num_layers=2,  # hidden layers; + output heads = the original's 3
        attribute_num_units=100,
        feature_num_layers=1,
        feature_num_units=100,
        use_attribute_discriminator=bool(data.get("aux_disc", True)),
        normalization=norms[feature_norms[0]],
        apply_feature_scaling=False,  # the data is already in [0, 1] / [-1, 1]
        apply_example_scaling=bool(data.get("self_norm", True)),  # the original's self_norm
        gradient_penalty_coef=10.0,
        attribute_gradient_penalty_coef=10.0,
        attribute_loss_coef=1.0,
        generator_learning_rate=1e-3,
        generator_beta1=0.5,
        discriminator_learning_rate=1e-3,
        discriminator_beta1=0.5,
        attribute_discriminator_learning_rate=1e-3,
        attribute_discriminator_beta1=0.5,
        batch_size=args.batch_size,
        epochs=max(args.epochs, 1),
        discriminator_rounds=1,
        generator_rounds=1,
        cuda=False,
        mixed_precision_training=False,
    )
    low = {"ZERO_ONE": 0.0, "MINUSONE_ONE": -1.0}
    feature_outputs = [
        ContinuousOutput(
            name=name,
            normalization=norms[norm],
            apply_feature_scaling=False,
            apply_example_scaling=bool(data.get("self_norm", True)),
            global_min=low[norm],
            global_max=1.0,
        )
        for name, norm in zip(data["feature_names"], feature_norms)
    ]
    attribute_outputs = [
        OneHotEncodedOutput(name=name, dim=dim)
        for name, dim in zip(data["attribute_names"], data["attribute_dims"])
    ]
    model = DGAN(config, attribute_outputs=attribute_outputs, feature_outputs=feature_outputs)

    # gretel fixes its critics at 5 hidden layers of 200 units; rebuild them with the
    # requested depth (same inputs, same units) before any optimizer sees them.
    for attr in ("feature_discriminator", "attribute_discriminator"):
        critic = getattr(model, attr)
        if critic is None:
            continue
        input_dim = critic.seq[0].in_features
        setattr(
            model,
            attr,
            Discriminator(input_dim, num_layers=args.critic_hidden_layers, num_units=200).to(
                model.device
            ),
        )
    return model


def describe_architecture(model):
    """What the peer actually built, read back from its torch modules."""
    import torch

    gen = model.generator
    linears = [m for m in gen.attribute_gen if isinstance(m, torch.nn.Linear)]
    lstm = gen.feature_gen.lstm
    critic = [m for m in model.feature_discriminator.seq if isinstance(m, torch.nn.Linear)]
    n_params = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    return {
        "attribute_hidden_layers": len(linears),
        "attribute_units": linears[0].out_features,
        "attribute_batchnorm": any(isinstance(m, torch.nn.BatchNorm1d) for m in gen.attribute_gen),
        "lstm_layers": lstm.num_layers,
        "lstm_units": lstm.hidden_size,
        "lstm_input": lstm.input_size,
        "critic_hidden_layers": len(critic) - 1,
        "critic_units": critic[0].out_features,
        "critic_input": critic[0].in_features,
        "attribute_critic_input": model.attribute_discriminator.seq[0].in_features
        if model.attribute_discriminator is not None else None,
        "attribute_noise_dim": model.config.attribute_noise_dim,
        "feature_noise_dim": model.config.feature_noise_dim,
        "params_generator": n_params(gen),
        "params_critic": n_params(model.feature_discriminator),
        "params_attribute_critic": n_params(model.attribute_discriminator)
        if model.attribute_discriminator is not None else 0,
    }


def train(model, data, args, budget_seconds=None):
    """Trains through the public `train_numpy`; times only the training loop.

    `train_numpy` encodes the arrays and then calls `_train`; the instance's `_train` is
    wrapped so that the meter covers the loop alone. With `budget_seconds`, training stops
    after the first batch that ends past the budget (wall or CPU seconds, `--clock`).
    """
    from gretel_synthetics.timeseries_dgan.config import OutputType

    meter = common.Meter()
    elapsed = meter.reader(args.clock)
    progress = {"batches": 0, "epoch_ends": [], "batches_per_epoch": None}
    inner_train = model._train

    def timed_train(dataset, progress_callback=None):
        meter.start()
        try:
            inner_train(dataset, progress_callback=progress_callback)
        finally:
            meter.stop()

    def on_batch(info):
        progress["batches"] += 1
        progress["batches_per_epoch"] = info.total_batches
        if info.batch == info.total_batches - 1:
            progress["epoch_ends"].append(meter.elapsed())
        if budget_seconds is not None and elapsed() >= budget_seconds:
            raise _BudgetReached()

    model._train = timed_train
    codes = common.attribute_codes(data["attributes"], data["attribute_dims"])
    n_attr = len(data["attribute_dims"])
    try:
        model.train_numpy(
            features=data["features"],
            feature_types=[OutputType.CONTINUOUS] * data["features"].shape[2],
            attributes=codes,
            attribute_types=[OutputType.DISCRETE] * n_attr,
            progress_callback=on_batch,
        )
    except _BudgetReached:
        pass
    finally:
        model._train = inner_train
    ends = progress["epoch_ends"]
    epoch_seconds = [b - a for a, b in zip([0.0] + ends[:-1], ends)]
    return meter, progress, epoch_seconds


def generate(model, n, args):
    """Generates `n` series through the public `generate_numpy` in chunks of `--gen-batch`;
    returns features float32 [n, T, F] in the data's encoded range and the attribute codes
    [n, number of attributes] (argmax of each generated one-hot block)."""
    import contextlib

    import numpy as np
    import torch

    model.config.batch_size = args.gen_batch  # generate_numpy chunks by config.batch_size
    guard = contextlib.nullcontext() if args.gen_autograd else torch.inference_mode()
    with guard:
        codes, features = model.generate_numpy(n)
    features = np.stack(features).astype(np.float32)
    return features, codes


def main(argv=None):
    args = parse_args(argv)

    import numpy as np
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.interop_threads is not None:
        torch.set_num_interop_threads(args.interop_threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    if args.arrays:
        data = common.load_dataset(args.arrays)
    else:
        data = common.load_shape_data(args.shape, n=args.n, data=args.data, seed=args.seed)
    n = data["features"].shape[0]
    model = build_model(data, args)
    # torch.optim imports torch._dynamo lazily when the first optimizer is built (about 1 s
    # here); do it now so that the timed training loop holds no import.
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    record = {
        "side": "peer",
        "impl": "gretel-synthetics DGAN (torch)",
        "task": args.task,
        "shape": args.shape or "arrays",
        "n": n,
        "T": data["max_sequence_len"],
        "sample_len": data["sample_len"],
        "batch_size": args.batch_size,
        "seed": args.seed,
        "data_digest": common.data_digest(data),
        "architecture": describe_architecture(model),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cores_available": common.available_cores(),
        "torch": torch.__version__,
        "gretel_synthetics": importlib.metadata.version("gretel-synthetics"),
        "numpy": np.__version__,
        "gen_autograd": args.gen_autograd,
    }

    budget = args.seconds if args.task == "fidelity" else None
    if args.task == "fidelity" or args.epochs > 0:
        if budget is not None:
            model.config.epochs = 10**9  # stopped by the wall-clock budget
        meter, progress, epoch_seconds = train(model, data, args, budget_seconds=budget)
        # Sequences seen: whole epochs of n, plus the batches of an unfinished epoch.
        full, rest = divmod(progress["batches"], progress["batches_per_epoch"])
        seqs = full * n + min(rest * args.batch_size, n)
        steady = None
        if len(epoch_seconds) >= 2:
            steady = n * (len(epoch_seconds) - 1) / sum(epoch_seconds[1:])
        record.update(
            {
                "epochs": seqs / n,
                "batches": progress["batches"],
                "batches_per_epoch": progress["batches_per_epoch"],
                "wall_seconds": meter.wall_seconds,
                "sequences_per_s": seqs / meter.wall_seconds,
                "steady_sequences_per_s": steady,
                "epoch_seconds": epoch_seconds,
                "cpu_seconds": meter.cpu_seconds,
                "cpu_fraction": meter.cpu_fraction,
                "budget_seconds": budget,
            }
        )
    else:
        record.update({"epochs": 0, "wall_seconds": None, "sequences_per_s": None})
    record["peak_rss_train_mib"] = common.peak_rss_mib()

    if args.task in ("generate", "fidelity"):
        n_gen = args.n_generate or n
        # The first chunk (compilation, lazy imports) is timed apart.
        with common.Meter() as warm_meter:
            generate(model, min(args.gen_batch, n_gen), args)  # warm-up chunk
        (features, codes), gen_meter, gen_all = common.timed_median(
            lambda: generate(model, n_gen, args), args.gen_repeats
        )
        record.update(
            {
                "gen_n": n_gen,
                "gen_batch": args.gen_batch,
                "gen_warmup_seconds": warm_meter.wall_seconds,
                "gen_seconds": gen_meter.wall_seconds,
                "gen_seconds_all": gen_all,
                "gen_series_per_s": n_gen / gen_meter.wall_seconds,
                "gen_cpu_seconds": gen_meter.cpu_seconds,
                "gen_cpu_fraction": gen_meter.cpu_fraction,
            }
        )
        if args.out is not None:
            attributes = common.codes_to_one_hot(
                np.asarray(codes, dtype=np.int64), data["attribute_dims"]
            )
            gen_flag = np.ones(features.shape[:2], dtype=np.float32)
            common.save_arrays(args.out, features, attributes, gen_flag)
            record["out"] = args.out
    else:
        record.update({"gen_n": None, "gen_series_per_s": None})

    record["peak_rss_mib"] = common.peak_rss_mib()
    common.emit_json(record)
    return record


if __name__ == "__main__":
    main()
