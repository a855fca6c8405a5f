"""`run`: the whole pipeline run, composed of its checked steps."""

import time

from keras_dg import files
from keras_dg.pipeline import steps
from keras_dg.pipeline.arguments import validate_run
from keras_dg.pipeline.run_folder import finish_run
from keras_dg.pipeline.run_folder import start_run
from keras_dg.pipeline.run_result import RunResult


def run(train, out_dir, preset="flights", model_kwargs=None, training=None,
        epochs=None, batch_size=None, test=None, transformer=None,
        quick=False, n_generate=None, seed=0, metrics=None, report=True,
        tensorboard=None, callbacks=None, overwrite=False, resume=False,
        verbose="auto"):
    """Trains, saves, generates and evaluates: the whole run, in one call.

    Args:
        train: `TimeSeriesDataset`. The training data.
        out_dir: str or path-like. The run's folder (see `keras_dg.pipeline`
            for its layout); created if missing.
        preset: str or None. A preset of `keras_dg.presets` (the model's
            config and the training options); None: the model's defaults
            with `sample_len` and `batch_size` chosen from the data
            (`keras_dg.pipeline.data_defaults`; printed and saved in
            `run.json` as `settings_from_data`). Defaults to `"flights"`.
        model_kwargs: dict or None. `DoppelGANger` arguments that override
            the preset's config (original names, e.g. `sample_len`,
            `aux_disc`). Defaults to None.
        training: dict or None. Overrides of the preset's training options
            (`epochs`, `batch_size`, `epoch_checkpoint_freq`,
            `extra_checkpoint_freq`, `vis_freq`, `vis_num_sample`).
        epochs, batch_size: int or None. Shortcuts for `training[...]`.
        test: `TimeSeriesDataset` or None. Held-out real data: the report's
            reference (else the training data) and the memorization check's
            held-out set. Defaults to None.
        transformer: `keras_dg.data.TableTransformer` or None. Stored in the
            model; with it the generated data are also written as a CSV
            table in real units. Defaults to None.
        quick: bool. Apply the preset's `quick` overrides (a tiny model, a
            couple of epochs): a smoke run. Defaults to False.
        n_generate: int or None. Series to generate. Defaults to the number
            of training series.
        seed: int. Seeds weight initialization, training noise, generation
            and evaluation. Defaults to 0.
        metrics: list of metric names or None (all that apply); see
            `keras_dg.evaluation.evaluate`. Defaults to None.
        report: bool. Write the evaluation report. Defaults to True.
        tensorboard: bool or None. Write TensorBoard logs; None means "if
            the `tensorboard` package is installed". Defaults to None.
        callbacks: list of extra `keras.callbacks.Callback` (put before the
            standard ones, so e.g. a `FidelityCallback`'s logs reach them).
            Defaults to None.
        overwrite: bool. Replace a previous run in `out_dir`. Defaults to
            False.
        resume: bool. Continue a previous run's training from its last
            checkpoint (same data and config). Defaults to False.
        verbose: "auto", 0, 1 or 2. Keras' progress display (1: progress
            bars, 2: one line per epoch); 0 also silences this function's
            messages. Defaults to "auto" (1).

    Returns:
        A `RunResult` with the paths of everything written.

    Example:

    >>> from keras_dg import pipeline
    >>> data = pipeline.load_recipe("flights", quick=True)
    >>> result = pipeline.run(data["train"], "runs/flights", quick=True,
    ...     test=data["test"], transformer=data["transformer"])  # doctest: +SKIP
    >>> result.report_html  # doctest: +SKIP
    '.../runs/flights/report/report.html'
    """
    started = time.time()
    plan = validate_run(
        train, out_dir, preset=preset, model_kwargs=model_kwargs,
        training=training, epochs=epochs, batch_size=batch_size, test=test,
        transformer=transformer, quick=quick, n_generate=n_generate,
        seed=seed, metrics=metrics, report=report, tensorboard=tensorboard,
        overwrite=overwrite, resume=resume, verbose=verbose,
    )
    if plan.settings_from_data:
        from keras_dg.pipeline.data_defaults import describe

        plan.say(
            "No preset: settings from the data (saved in run.json; pass "
            "the flag to choose another)\n"
            + describe(plan.settings_from_data)
        )
    model, standard = steps.build_model(plan)
    record = start_run(plan)
    with files.tracking_writes(record):
        model_path, train_seconds = steps.train_model(
            plan, model, list(callbacks or []) + standard
            + steps.record_callbacks(plan, record)
        )
        synthetic, generated, generate_seconds = steps.generate(plan, model)
        summary, floor, reported, report_seconds = steps.report(
            plan, synthetic, sample_len=model.sample_len
        )
        seconds = {
            "train": round(train_seconds, 2),
            "generate": round(generate_seconds, 2),
            "report": round(report_seconds, 2),
            "total": round(time.time() - started, 2),
        }
        result = RunResult(
            out_dir=plan.out_dir, model=model_path, summary=summary,
            floor=floor, epochs=plan.options["epochs"], seconds=seconds,
            **generated, **reported,
        )
        finish_run(record, result.outputs(), summary, seconds)
    plan.say(result.describe())
    return result
