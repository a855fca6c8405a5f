import os
import stat
import subprocess
import sys
import textwrap

import pytest

from keras_dg import files


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_027():
    before = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(before)


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_atomic_write_removes_its_temp_file_on_any_exception(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    for error in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(error):
            with files.atomic_write(path) as tmp:
                with open(tmp, "w") as f:
                    f.write("half")
                raise error("stop")
        assert os.listdir(tmp_path) == ["out.json"]
        assert path.read_text() == "old"


def test_written_files_follow_the_umask(tmp_path, umask_027):
    assert files.umask() == 0o027
    path = tmp_path / "a.bin"
    with files.atomic_write(path) as tmp:
        # A writer that creates its file private (as mkstemp does).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    assert _mode(path) == 0o640
    os.umask(0o002)
    files.atomic_write_text(path, "x")
    assert _mode(path) == 0o664
    with files.atomic_folder(tmp_path / "folder") as tmp:
        os.mkdir(os.path.join(tmp, "sub"), 0o700)
        fd = os.open(os.path.join(tmp, "sub", "f"), os.O_CREAT, 0o600)
        os.close(fd)
    assert _mode(tmp_path / "folder") == 0o775
    assert _mode(tmp_path / "folder" / "sub") == 0o775
    assert _mode(tmp_path / "folder" / "sub" / "f") == 0o664


def test_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "data"
    with pytest.raises(RuntimeError):
        with files.atomic_folder(target) as tmp:
            (open(os.path.join(tmp, "a"), "w")).close()
            raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []
    with files.atomic_folder(target) as tmp:
        with open(os.path.join(tmp, "a"), "w") as f:
            f.write("a")
    assert (target / "a").read_text() == "a"
    with pytest.raises(FileExistsError):
        with files.atomic_folder(target):
            pass


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    (tmp_path / "sub").mkdir()
    stale = [
        tmp_path / f".tmp-{dead}-model.keras",
        tmp_path / "sub" / f".tmp-{dead}-x.npz",
    ]
    for path in stale:
        path.write_text("partial")
    (tmp_path / f".tmp-{dead}-folder").mkdir()
    (tmp_path / f".tmp-{dead}-folder" / "f").write_text("partial")
    kept = [tmp_path / f".tmp-{live}-busy.json", tmp_path / ".tmp-notes"]
    for path in kept:
        path.write_text("keep")
    removed = files.remove_stale_temp_files(tmp_path)
    assert sorted(removed) == sorted(
        [str(stale[0]), str(tmp_path / f".tmp-{dead}-folder")]
    )
    assert stale[1].exists()
    files.remove_stale_temp_files(tmp_path, recursive=True)
    assert not stale[1].exists()
    assert all(path.exists() for path in kept)
    # The next writer of a folder clears it first.
    stale[0].write_text("partial")
    files.atomic_write_text(tmp_path / "other.txt", "x")
    assert not stale[0].exists()


def test_trackers_hear_of_each_file_before_it_appears(tmp_path):
    heard = []

    def tracker(path):
        heard.append((path, os.path.exists(path)))

    with files.tracking_writes(tracker):
        files.atomic_write_text(tmp_path / "a.txt", "a")
        with files.atomic_folder(tmp_path / "d") as tmp:
            with open(os.path.join(tmp, "b"), "w") as f:
                f.write("b")
    files.atomic_write_text(tmp_path / "after.txt", "x")
    assert heard == [
        (str(tmp_path / "a.txt"), False), (str(tmp_path / "d" / "b"), False)
    ]

    def refuse(path):
        raise OSError("no room in the record")

    with files.tracking_writes(refuse), pytest.raises(OSError):
        files.atomic_write_text(tmp_path / "refused.txt", "x")
    assert not (tmp_path / "refused.txt").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]


_WRITER = textwrap.dedent("""
    import sys
    from keras_dg import files

    path, size = sys.argv[1], int(sys.argv[2])
    i = 0
    while True:
        i += 1
        files.atomic_write_bytes(path, bytes([i % 256]) * size)
        print(i, flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(5))
def test_kill_9_leaves_no_visible_partial_file(tmp_path, trial):
    """A writer killed at a random moment: the destination is absent or
    whole; its hidden temp file is removed by the next writer."""
    import random
    import signal
    import time

    path = tmp_path / "big.bin"
    (tmp_path / "mine.txt").write_text("mine")
    size = 4 << 20
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(size)],
        stdout=subprocess.PIPE, cwd=os.getcwd(),
    )
    child.stdout.readline()  # At least one whole write.
    time.sleep(random.Random(trial).uniform(0.0, 0.5))
    child.send_signal(signal.SIGKILL)
    child.wait()
    data = path.read_bytes()
    assert len(data) == size and len(set(data)) == 1
    visible = [n for n in os.listdir(tmp_path) if not n.startswith(".")]
    assert sorted(visible) == ["big.bin", "mine.txt"]
    files.atomic_write_text(tmp_path / "next.txt", "x")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]
    assert (tmp_path / "mine.txt").read_text() == "mine"


def test_read_json_object_names_what_is_damaged(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    assert files.read_json_object(str(path), "x") == {"a": 1}
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="my record is damaged: expected a "
                       "JSON object, found list"):
        files.read_json_object(str(path), "my record")
    path.write_bytes(b"\xff{")
    with pytest.raises(ValueError, match="my record is damaged: not valid"):
        files.read_json_object(str(path), "my record")
    with pytest.raises(OSError):
        files.read_json_object(str(tmp_path / "missing.json"), "x")
