"""A pipeline run's folder: what it holds, its record `run.json`, and who
may replace it.

`run.json` lists every file the run writes (`files`) and every folder it
created (`folders`), each before it appears (a run killed at any moment is
fully listed). An output folder that holds a previous run (its `run.json`)
is refused unless `overwrite=True` (the previous run's listed files, and
only those, are removed first; its folders too when nothing else is left
in them) or `resume=True` (training continues from the last checkpoint in
`backup/`). Files the user put anywhere in the folder stay. Names the
pipeline writes that exist in the folder without a `run.json` of keras-dg
are never touched: the run is refused.
"""

import datetime
import os
import threading

from keras_dg import files
from keras_dg.validation import check_bool
from keras_dg.validation import check_directory
from keras_dg.version import __version__

# The names a run writes at the top of its folder (the callbacks' folders
# included): a folder without a run record that holds one is refused.
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
        manifest = files.read_json_object(path, f"'{path}'")
    except (OSError, ValueError) as e:
        raise ValueError(
            f"'{path}' exists but is not a keras-dg run record ({e}); choose "
            "another `out_dir`."
        ) from None
    if manifest.get("written_by") != WRITTEN_BY:
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


def _listed(manifest, key, out_dir):
    """The manifest's `files` or `folders`: relative paths inside
    `out_dir`; `ValueError` if the record has none or lists a path outside
    the folder."""
    path = os.path.join(out_dir, files.MANIFEST_FILE)
    entries = manifest.get(key)
    if not isinstance(entries, list) or not all(
        isinstance(e, str) for e in entries
    ):
        raise ValueError(
            f"'{path}' does not list the run's {key} (a run of an older "
            "keras-dg, or an edited record), so keras-dg cannot tell its "
            "files from yours and removes none. Remove the previous run's "
            "files yourself or choose another `out_dir`."
        )
    for entry in entries:
        resolved = os.path.normpath(os.path.join(out_dir, entry))
        if os.path.isabs(entry) or not resolved.startswith(
            os.path.join(out_dir, "")
        ):
            raise ValueError(
                f"'{path}' lists {entry!r} among its {key}, which is not "
                f"inside '{out_dir}'; nothing is removed."
            )
    return entries


def check_out_dir(out_dir, overwrite=False, resume=False):
    """Validates a run folder; returns (path, previous manifest or None).

    Raises `ValueError` when the folder is a file, holds a previous run and
    neither `overwrite` nor `resume` is set, holds files named like the
    run's outputs that keras-dg did not write, or (to overwrite or resume)
    holds a record that does not list its files.
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
    _listed(manifest, "files", out_dir)
    _listed(manifest, "folders", out_dir)
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


def remove_previous_run(out_dir, manifest, keep_record=False):
    """Removes the files a previous run listed (and no other), then its
    folders that are left empty, then its `run.json` (unless
    `keep_record`: the next run's record replaces it in one step); returns
    the paths removed. A folder that holds anything else (your files)
    stays."""
    removed = []
    for entry in _listed(manifest, "files", out_dir):
        if entry == files.MANIFEST_FILE:
            continue  # Last: a kill before the end leaves it to retry.
        path = os.path.join(out_dir, entry)
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
            removed.append(path)
    folders = _listed(manifest, "folders", out_dir)
    # The deepest first, so that a parent empties before its turn.
    for entry in sorted(folders, key=lambda e: -e.count("/")):
        path = os.path.join(out_dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            files.remove_stale_temp_files(path)
            try:
                os.rmdir(path)
            except OSError:  # Not empty: it holds files that are not ours.
                continue
            removed.append(path)
    path = os.path.join(out_dir, files.MANIFEST_FILE)
    if not keep_record and os.path.isfile(path):
        os.remove(path)
        removed.append(path)
    return removed


def write_manifest(out_dir, manifest):
    """Writes the run record `run.json` atomically."""
    files.atomic_write_json(
        os.path.join(out_dir, files.MANIFEST_FILE), manifest
    )


def _existing_folders(out_dir):
    folders = set()
    for root, dirs, _ in os.walk(out_dir):
        for name in dirs:
            folders.add(
                os.path.relpath(os.path.join(root, name), out_dir)
            )
    return folders


class RunFiles:
    """The record of the files a run writes: a `files.tracking_writes`
    callback that adds every new path inside the run's folder (and the
    folders it created) to the manifest and rewrites `run.json` before the
    file appears.

    `record(path)` does the same for a file written outside
    `keras_dg.files` (TensorBoard's event files, listed once written).
    """

    def __init__(self, out_dir, manifest):
        self.out_dir = out_dir
        self.manifest = manifest
        self._files = set(manifest["files"])
        self._folders = set(manifest["folders"])
        # Folders there before the run (the user's, or kept by a previous
        # run's leftovers) are not the run's.
        self._before = _existing_folders(out_dir) - self._folders
        self._lock = threading.RLock()
        self._writing = False

    def __call__(self, path):
        self.record(path)

    def _relative(self, path):
        relative = os.path.relpath(os.path.abspath(path), self.out_dir)
        if relative == os.curdir or relative.startswith(os.pardir):
            return None
        return relative.replace(os.sep, "/")

    def record(self, path):
        """Lists `path` (a file inside the run's folder) in `run.json`."""
        relative = self._relative(path)
        if relative is None:
            return
        with self._lock:
            if self._writing or relative in self._files:
                return
            self._files.add(relative)
            self.manifest["files"].append(relative)
            parent = os.path.dirname(relative)
            while parent:
                if parent not in self._before and parent not in self._folders:
                    self._folders.add(parent)
                    self.manifest["folders"].append(parent)
                parent = os.path.dirname(parent)
            self.save()

    def save(self):
        """Rewrites `run.json` (itself not recorded again)."""
        with self._lock:
            self._writing = True
            try:
                write_manifest(self.out_dir, self.manifest)
            finally:
                self._writing = False


def start_run(plan):
    """Prepares `plan.out_dir` and records the run as training.

    Removes a previous run's files when overwriting, and the temp files of
    killed writers anywhere in the folder; creates the folder and writes
    `run.json` (status `training`). Returns the `RunFiles` record to track
    the run's writes with (`files.tracking_writes(record)`); its
    `manifest` is the run record.
    """
    previous = plan.previous
    if previous is not None and plan.overwrite:
        # A kill before the new record is written leaves the old one, which
        # lists what is left to remove: --overwrite again finishes.
        remove_previous_run(plan.out_dir, previous, keep_record=True)
    os.makedirs(plan.out_dir, exist_ok=True)
    files.remove_stale_temp_files(plan.out_dir, recursive=True)
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
        "files": [files.MANIFEST_FILE],
        "folders": [],
    }
    if plan.settings_from_data:
        manifest["settings_from_data"] = plan.settings_from_data
    if previous is not None and plan.resume:
        manifest["resumed_from"] = previous.get("started")
        manifest["files"] = list(dict.fromkeys(
            [files.MANIFEST_FILE] + previous["files"]
        ))
        manifest["folders"] = list(previous["folders"])
    record = RunFiles(plan.out_dir, manifest)
    record.save()
    return record


def finish_run(record, outputs, summary, seconds):
    """Records the run as done in `run.json`, with its outputs and times."""
    record.manifest.update(
        status="done", finished=_now(), seconds=seconds, outputs=outputs,
        summary=summary,
    )
    record.save()
