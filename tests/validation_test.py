import pathlib

import pytest

from keras_dg.validation import check_directory


def test_check_directory_accepts_folders_and_new_paths(tmp_path):
    assert check_directory(tmp_path, "out_dir") == str(tmp_path)
    new = pathlib.Path(tmp_path, "not", "yet")
    assert check_directory(new, "out_dir") == str(new)


@pytest.mark.parametrize("value", ["", None, 3])
def test_check_directory_refuses_non_paths(value):
    with pytest.raises(ValueError, match="`out_dir` must be a non-empty path"):
        check_directory(value, "out_dir")


def test_check_directory_refuses_a_file(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("x")
    with pytest.raises(
        ValueError, match=r"`directory` must be a folder, but .*f\.txt' is a file"
    ):
        check_directory(path, "directory")
