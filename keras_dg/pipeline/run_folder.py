"""A pipeline run's folder: what it holds, its record `run.json`, and who
may replace it.

An output folder that holds a previous run (its `run.json`) is refused
unless `overwrite=True` (the previous run's files, and only those, are
removed first) or `resume=True` (training continues from the last
checkpoint in `backup/`). Names the pipeline writes that exist in the folder
without a `run.json` of keras-dg are never touched: the run is refused.
"""

import datetime
import json
import os
import shutil

from keras_dg import files
from keras_dg.validation import check_bool
from keras_dg.validation import check_directory
from keras_dg.version import __version__

# Everything a run writes into its folder (the callbacks' folders included).
OWNED = (
    files.MANIFEST_FILE, files.MODEL_FILE, files.HISTORY_FILE,
    files.GENERATED_DIR, files.REPORT_DIR, files.BACKUP_DIR,
    files.CHECKPOINTS_DIR, files.SAMPLES_DIR, files.LOGS_DIR,
)
# The `written_by` of every run record.
WRITTEN_BY = "keras_dg.pipeline"


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")


def read_manifest(out_dir):
    """The run record in `out_dir`, or None; `ValueError` if not ours."""
    path = os.path.join(out_dir, files.MANIFEST_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"'{path}' exists but is not a keras-dg run record ({e}); choose "
            "another `out_dir`."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("written_by") != (
        WRITTEN_BY
    ):
        raise ValueError(
            f"'{path}' was not written by keras-dg; choose another `out_dir`."
        )
    return manifest


def _check_no_clashes(out_dir, resume):
    clashes = [
        name for name in OWNED
        if os.path.lexists(os.path.join(out_dir, name))
    ]
    if clashes:
        raise ValueError(
            f"`out_dir` '{out_dir}' already holds {clashes}, which this "
            "run would write, but no keras-dg run record (run.json): "
            "nothing there is overwritten. Choose another `out_dir`."
        )
    if resume:
        raise ValueError(
            f"`resume=True` but '{out_dir}' holds no previous run "
            "(run.json) to resume."
        )


def check_out_dir(out_dir, overwrite=False, resume=False):
    """Validates a run folder; returns (path, previous manifest or None).

    Raises `ValueError` when the folder is a file, holds a previous run and
    neither `overwrite` nor `resume` is set, or holds files named like the
    run's outputs that keras-dg did not write.
    """
    out_dir = os.path.abspath(check_directory(out_dir, "out_dir"))
    overwrite = check_bool(overwrite, "overwrite")
    resume = check_bool(resume, "resume")
    if overwrite and resume:
        raise ValueError("Pass at most one of `overwrite` and `resume`.")
    manifest = read_manifest(out_dir) if os.path.isdir(out_dir) else None
    if manifest is None:
        _check_no_clashes(out_dir, resume)
        return out_dir, None
    if not (overwrite or resume):
        raise ValueError(
            f"`out_dir` '{out_dir}' holds a previous run (status "
            f"{manifest.get('status')!r}, started {manifest.get('started')})."
            " Pass overwrite=True (--overwrite) to replace it, "
            "resume=True (--resume) to continue its training, or choose "
            "another folder."
        )
    return out_dir, manifest


def check_resumable(manifest, preset_name, config, train):
    """Raises `ValueError` unless a previous run continues with this one."""
    before = manifest.get("config", {})
    changed = sorted(
        key for key in set(before) | set(config)
        if before.get(key) != config.get(key)
    )
    if changed:
        raise ValueError(
            "`resume=True` needs the previous run's configuration, but "
            + ", ".join(
                f"{k}: {before.get(k)!r} -> {config.get(k)!r}"
                for k in changed
            )
            + ". Drop those changes, or pass overwrite=True (--overwrite) "
            "to start over."
        )
    if manifest.get("preset") != preset_name:
        raise ValueError(
            f"`resume=True` but the previous run used the preset "
            f"{manifest.get('preset')!r}, not {preset_name!r}."
        )
    data = manifest.get("data", {})
    if data.get("max_sequence_len") != train.max_sequence_len or data.get(
        "train_series"
    ) != len(train):
        raise ValueError(
            "`resume=True` but the training data differ from the previous "
            f"run's ({data.get('train_series')} series of "
            f"{data.get('max_sequence_len')} steps; now {len(train)} of "
            f"{train.max_sequence_len})."
        )


def _remove_previous_run(out_dir, manifest):
    """Removes the files a previous run listed as its own (and no other)."""
    owned = [name for name in manifest.get("owned", []) if name in OWNED]
    for name in owned:
        path = os.path.join(out_dir, name)
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)


def write_manifest(out_dir, manifest):
    """Writes the run record `run.json` atomically."""
    files.atomic_write_json(
        os.path.join(out_dir, files.MANIFEST_FILE), manifest
    )


def start_run(plan):
    """Prepares `plan.out_dir` and records the run as training.

    Removes a previous run's files when overwriting, creates the folder and
    writes `run.json` (status `training`); returns that manifest.
    """
    if plan.previous is not None and plan.overwrite:
        _remove_previous_run(plan.out_dir, plan.previous)
    os.makedirs(plan.out_dir, exist_ok=True)
    train, test = plan.train, plan.test
    manifest = {
        "written_by": WRITTEN_BY,
        "keras_dg_version": __version__,
        "status": "training",
        "started": _now(),
        "preset": plan.preset["name"],
        "quick": plan.quick,
        "config": dict(plan.config),
        "training": plan.options,
        "data": {
            "train_series": len(train),
            "test_series": None if test is None else len(test),
            "max_sequence_len": train.max_sequence_len,
        },
        "owned": list(OWNED),
    }
    if plan.previous is not None and plan.resume:
        manifest["resumed_from"] = plan.previous.get("started")
    write_manifest(plan.out_dir, manifest)
    return manifest


def finish_run(out_dir, manifest, outputs, summary, seconds):
    """Records the run as done in `run.json`, with its outputs and times."""
    manifest.update(
        status="done", finished=_now(), seconds=seconds, outputs=outputs,
        summary=summary,
    )
    write_manifest(out_dir, manifest)
