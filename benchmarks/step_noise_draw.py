"""Generation with the per-time-step noise drawn by Box-Muller (keras-dg's
default) against NumPy's ziggurat (`standard_normal`, before 2026-12-06),
alternating in one warm process on one model, so that the machine's drift
does not decide the figure.

Command (from the repository root):
```
python benchmarks/step_noise_draw.py --shape pageview --n 5000 --repeats 6
python benchmarks/step_noise_draw.py --shape mba --data ../shared/data/FCC_MBA --n 20000
```
Prints the median series/s of each draw and their ratio.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="pageview", choices=sorted(common.SHAPES))
    parser.add_argument("--data", default=None, help="FCC_MBA folder (mba shape).")
    parser.add_argument("--n", type=int, default=5000, help="Series per generate call.")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args(argv)
    if args.n < 1 or args.batch_size < 1 or args.repeats < 1:
        parser.error("--n, --batch-size and --repeats must be positive")
    import numpy as np

    import ours_dg
    from keras_dg.models import generation

    flags = ["--task", "generate", "--shape", args.shape]
    if args.data:
        flags += ["--data", args.data]
    data = common.load_shape_data(args.shape, n=500, data=args.data, seed=0)
    model = ours_dg.build_model(data, ours_dg.parse_args(flags))
    warm = {k: data[k][:100] for k in ("features", "attributes", "gen_flag")}
    model.fit(warm, batch_size=100, epochs=1, verbose=0)
    model.generate(args.n, seed=0, batch_size=args.batch_size)
    draws = {"box-muller": ("step_noise",), "ziggurat": ()}
    rates = {name: [] for name in draws}
    for repeat in range(args.repeats):
        order = list(draws) if repeat % 2 == 0 else list(draws)[::-1]
        for name in order:
            generation._BOX_MULLER_INPUTS = draws[name]
            start = time.perf_counter()
            model.generate(args.n, seed=repeat, batch_size=args.batch_size)
            rates[name].append(args.n / (time.perf_counter() - start))
    generation._BOX_MULLER_INPUTS = draws["box-muller"]
    medians = {name: float(np.median(v)) for name, v in rates.items()}
    for name, values in rates.items():
        print(f"{args.shape} {name}: {medians[name]:,.0f} series/s "
              f"(runs: {', '.join(f'{v:,.0f}' for v in values)})")
    print(f"box-muller / ziggurat: {medians['box-muller'] / medians['ziggurat']:.2f}x")


if __name__ == "__main__":
    main()
