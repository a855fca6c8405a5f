"""Writing files so that a reader never sees half of one, and the names of
a run folder's parts.

Every writer of keras-dg goes through `atomic_write` (a file) or
`atomic_folder` (a new folder of files): the content goes to a temp path in
the destination's folder, named `.tmp-<pid>-<name>` (it keeps the
destination's suffix, which `model.save` and `save_weights` check), is
flushed to disk and renamed over the destination in one step. On any
exception the temp path is removed; after a `kill -9` it stays, hidden, and
`remove_stale_temp_files` removes it the next time a writer of that folder
starts (the pid in its name is no longer alive). Written files and folders
follow the process' umask, whatever mode the library that wrote them chose.

`tracking_writes(callback)` tells a callback about every file a writer is
about to put in place, before it appears: the pipeline records its run's
files in `run.json` that way (`keras_dg.pipeline.run_folder`).
"""

import contextlib
import json
import os
import re
import shutil
import stat
import threading

# === The parts of a run folder (`keras-dg train --out DIR`) ===

MANIFEST_FILE = "run.json"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
GENERATED_DIR = "generated"
GENERATED_CSV = "generated.csv"
REPORT_DIR = "report"
BACKUP_DIR = "backup"
CHECKPOINTS_DIR = "checkpoints"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"

TMP_PREFIX = ".tmp-"
_TMP_PATTERN = re.compile(r"^\.tmp-(\d+)-")


def temp_path(path):
    """The temp name `atomic_write` uses for `path` in this process."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{name}")


# === The umask ===

_umask_lock = threading.Lock()


def umask():
    """The process' umask, read without changing it (Linux), else set and
    restored at once under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _follow_umask(path, mask):
    """Gives `path` (a file, or a folder and everything in it) the mode
    `open` and `mkdir` would give under `mask`."""
    if os.path.islink(path):
        return
    if os.path.isdir(path):
        os.chmod(path, 0o777 & ~mask)
        for root, dirs, names in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
            for name in names:
                _follow_umask(os.path.join(root, name), mask)
        return
    mode = stat.S_IMODE(os.stat(path).st_mode)
    # Executable bits only where the writer set them (a script).
    wanted = (0o777 if mode & 0o111 else 0o666) & ~mask
    if mode != wanted:
        os.chmod(path, wanted)


# === Write tracking ===

_trackers = []
_trackers_lock = threading.Lock()


@contextlib.contextmanager
def tracking_writes(callback):
    """Calls `callback(path)` (an absolute path) for every file a writer of
    this module is about to put in place, before it appears.

    An exception of the callback aborts that write (its temp file is
    removed, the destination is left as it was).
    """
    with _trackers_lock:
        _trackers.append(callback)
    try:
        yield
    finally:
        with _trackers_lock:
            _trackers.remove(callback)


def announce(path):
    """Tells the active trackers that `path` is about to be written (for
    writers that cannot go through `atomic_write`, e.g. TensorBoard's)."""
    path = os.path.abspath(os.fspath(path))
    with _trackers_lock:
        trackers = list(_trackers)
    for callback in trackers:
        callback(path)


# === Atomic writes ===


def _fsync(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_folder(path):
    for root, _, names in os.walk(path):
        for name in names:
            _fsync(os.path.join(root, name))


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


@contextlib.contextmanager
def atomic_write(path):
    """Yields a temp path to write; renames it to `path` on success.

    ```python
    with atomic_write("out/model.keras") as tmp:
        model.save(tmp)
    ```
    On an exception inside the block (or a `KeyboardInterrupt`) the temp
    file is removed and `path` is left as it was. The written file gets
    the mode the umask gives, whatever mode its writer chose.
    """
    path = os.path.abspath(os.fspath(path))
    remove_stale_temp_files(os.path.dirname(path))
    tmp = temp_path(path)
    try:
        yield tmp
        _follow_umask(tmp, umask())
        _fsync(tmp)
        announce(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(path):
    """Yields a temp folder to fill; renames it to `path` (which must not
    exist) on success.

    The folder and its files follow the umask. On an exception the temp
    folder is removed and nothing appears at `path`. Every file in it is
    announced to the trackers (`tracking_writes`) before the rename.
    """
    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    remove_stale_temp_files(parent)
    if os.path.lexists(path):
        raise FileExistsError(f"'{path}' exists.")
    tmp = temp_path(path)
    os.mkdir(tmp)
    try:
        yield tmp
        _follow_umask(tmp, umask())
        _fsync_folder(tmp)
        for root, _, names in os.walk(tmp):
            for name in names:
                relative = os.path.relpath(os.path.join(root, name), tmp)
                announce(os.path.join(path, relative))
        os.rename(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_bytes(path, data):
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path, text):
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_json(path, value):
    """`value` as indented JSON (non-JSON values through `str`)."""
    atomic_write_text(path, json.dumps(value, indent=2, default=str) + "\n")


def read_json_object(path, what):
    """The JSON object (a dict) in `path`.

    Raises `ValueError` naming `what` (e.g. "metadata.json of preset 'x'")
    when the file is not valid UTF-8 JSON or holds something else than an
    object; `OSError` when it cannot be read.
    """
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} is damaged: not valid JSON ({e}).") from None
    if not isinstance(value, dict):
        raise ValueError(
            f"{what} is damaged: expected a JSON object, found "
            f"{type(value).__name__}."
        )
    return value


# === Temp files of dead writers ===


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:  # not a pid
        return False
    return True


def remove_stale_temp_files(folder, recursive=False):
    """Removes the temp files (and folders) that dead writers left in
    `folder` (and its subfolders, with `recursive`).

    Returns the removed paths. Temp paths of live processes (another
    writer at work, this one included) are kept.
    """
    removed = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return removed
    for name in names:
        path = os.path.join(folder, name)
        match = _TMP_PATTERN.match(name)
        if match and not _alive(int(match.group(1))):
            _remove(path)
            removed.append(path)
        elif recursive and os.path.isdir(path) and not os.path.islink(path):
            removed += remove_stale_temp_files(path, recursive=True)
    return removed
