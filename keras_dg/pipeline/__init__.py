"""One training pipeline for the recipes, `keras-dg demo` and `keras-dg train`.

`run(train, out_dir, preset=...)` does everything a run needs, in one place:

1. validates every input (datasets, preset, hyperparameters, the output
   folder) before any work starts (`keras_dg.pipeline.arguments`);
2. builds and compiles `keras_dg.DoppelGANger` from the preset's config
   (the original hyperparameter names) and your overrides;
3. trains with Keras progress bars and the callbacks of
   `keras_dg.callbacks.training_callbacks` (resumable checkpoints in
   `backup/`, permanent `.keras` copies in `checkpoints/`, sample pictures
   in `samples/`, TensorBoard logs in `logs/` when `tensorboard` is
   installed, a stop on NaN losses);
4. saves `model.keras` (with its `TableTransformer`, if any) and
   `history.json`;
5. generates `n_generate` series and writes them in the original format
   (`generated/data_generated.npz` and the Output pickles, via
   `keras_dg.data.save_dg`) and, with a transformer, as a table in real
   units (`generated/generated.csv`);
6. writes the fidelity report (`report/report.html`, `report.md`,
   `metrics.json` and plots, via `keras_dg.evaluation.write_report`),
   comparing the generated series with the test split if given, else with
   the training data;
7. records the run in `run.json` and prints where everything went.

Steps 2-6 are the functions of `keras_dg.pipeline.steps`. An output folder
that holds a previous run (its `run.json`) is refused unless
`overwrite=True` (the previous run's files, and only those, are removed
first) or `resume=True` (training continues from the last checkpoint in
`backup/`). Names the pipeline writes that exist in the folder without a
`run.json` of keras-dg are never touched: the run is refused
(`keras_dg.pipeline.run_folder`).

`load_recipe(name, ...)` (from `keras_dg.data.recipes`) returns the data of
the named recipes (`flights`, `mba`, `wwt`, `gcut`): the real files when
given, else (for WWT and GCUT) clearly labelled SYNTHETIC stand-in data of
the paper's schema.

Example:

```python
from keras_dg import pipeline

data = pipeline.load_recipe("flights")
result = pipeline.run(data["train"], "runs/flights", preset="flights",
                      test=data["test"], transformer=data["transformer"])
print(result.report_html)
```
"""

from keras_dg import presets as presets_lib  # noqa: F401
from keras_dg.data.recipes import RECIPES
from keras_dg.data.recipes import load_recipe
from keras_dg.data.recipes import synthetic_gcut
from keras_dg.data.recipes import synthetic_wwt
from keras_dg.data.splits import split_dataset
from keras_dg.pipeline.arguments import model_arguments
from keras_dg.pipeline.run_folder import OWNED
from keras_dg.pipeline.run_folder import check_out_dir
from keras_dg.pipeline.run_result import RunResult
from keras_dg.pipeline.runner import run
from keras_dg.pipeline.steps import GENERATED_SPLIT
from keras_dg.pipeline.steps import write_csv

__all__ = [
    "GENERATED_SPLIT", "OWNED", "RECIPES", "RunResult", "check_out_dir",
    "load_recipe", "model_arguments", "run", "split_dataset",
    "synthetic_gcut", "synthetic_wwt", "write_csv",
]
