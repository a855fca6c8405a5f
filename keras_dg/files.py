"""Writing files so that a reader never sees half of one, and the names of
a run folder's parts.

Every writer of keras-dg goes through `atomic_write`: the content goes to a
temp file in the destination's folder, named `.tmp-<pid>-<name>` (it keeps
the destination's suffix, which `model.save` and `save_weights` check), is
flushed to disk and renamed over the destination in one step. On any
exception the temp file is removed; after a `kill -9` it stays, hidden, and
`remove_stale_temp_files` removes it the next time a writer of that folder
starts (the pid in its name is no longer alive). Files are created with the
process' umask, as `open` would.
"""

import contextlib
import json
import os
import re

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


def _fsync(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _remove(path):
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.remove(path)


@contextlib.contextmanager
def atomic_write(path):
    """Yields a temp path to write; renames it to `path` on success.

    ```python
    with atomic_write("out/model.keras") as tmp:
        model.save(tmp)
    ```
    On an exception inside the block the temp file is removed and `path`
    is left as it was.
    """
    path = os.path.abspath(os.fspath(path))
    remove_stale_temp_files(os.path.dirname(path))
    tmp = temp_path(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
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


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder):
    """Removes the temp files that dead writers left in `folder`.

    Returns the removed paths. Temp files of live processes (another
    writer at work, this one included) are kept.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _TMP_PATTERN.match(name)
        if match and not _alive(int(match.group(1))):
            path = os.path.join(folder, name)
            if os.path.isfile(path) or os.path.islink(path):
                _remove(path)
                removed.append(path)
    return removed
