"""Where the development data lives (`../shared/data`, outside the
project), and a marker that skips tests when it is absent."""

import pathlib

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
FCC_MBA = SHARED_DATA / "FCC_MBA"

needs_shared_data = pytest.mark.skipif(
    not (FCC_MBA / "data_train.npz").is_file()
    or not (SHARED_DATA / "google_schema" / "data_feature_output.pkl").is_file(),
    reason=f"development data not found at {SHARED_DATA} (the ../shared/data "
    "folder is not part of the project and is absent on user machines)",
)
