import numpy as np
import pytest

from keras_dg import Output
from keras_dg.data import load_outputs
from keras_dg.data import recipes
from tests.data.shared_data import FCC_MBA
from tests.data.shared_data import SHARED_DATA
from tests.data.shared_data import needs_shared_data
from tests.harness import tiny_dataset


def test_synthetic_wwt_has_the_wwt_schema():
    dataset = recipes.synthetic_wwt(40, seed=0)
    assert dataset.features.shape == (40, 550, 1)
    assert dataset.feature_outputs == [Output("CONTINUOUS", 1, "MINUSONE_ONE")]
    assert dataset.attribute_outputs == [
        Output("DISCRETE", 9), Output("DISCRETE", 3), Output("DISCRETE", 2)
    ]
    assert dataset.features.min() >= -1 and dataset.features.max() <= 1
    assert (dataset.lengths == 550).all()
    # Every category occurs.
    assert (dataset.attributes.sum(axis=0) > 0).all()
    # A weekly cycle: the mean lag-7 autocorrelation beats lag 3.
    x = dataset.features[..., 0]
    x = x - x.mean(axis=1, keepdims=True)

    def acf(lag):
        return np.mean(
            (x[:, lag:] * x[:, :-lag]).sum(1) / (x * x).sum(1)
        )

    assert acf(7) > acf(3) + 0.02
    np.testing.assert_array_equal(
        recipes.synthetic_wwt(40, seed=0).features, dataset.features
    )
    with pytest.raises(ValueError, match="num_series"):
        recipes.synthetic_wwt(1)


def test_wwt_transformer_gives_page_views():
    dataset = recipes.synthetic_wwt(9, max_sequence_len=20, seed=0)
    transformer = recipes.wwt_transformer(dataset)
    table = transformer.inverse_transform(dataset)
    expected = np.expm1(
        (dataset.features[..., 0].reshape(-1) + 1) / 2
        * recipes.WWT_LOG_SCALE
    )
    np.testing.assert_allclose(table["views"], expected, rtol=1e-4)
    assert set(table["domain"]) <= set(recipes.WWT_CATEGORIES["domain"])


def test_synthetic_gcut_is_variable_length():
    dataset = recipes.synthetic_gcut(200, seed=0)
    assert dataset.features.shape == (200, 50, 9)
    assert dataset.feature_outputs == recipes.GCUT_FEATURE_OUTPUTS
    assert dataset.attribute_outputs == recipes.GCUT_ATTRIBUTE_OUTPUTS
    assert len(np.unique(dataset.lengths)) > 10
    assert dataset.max_sequence_len % 10 == 0
    event = dataset.attributes.argmax(axis=1)
    fail = recipes.GCUT_EVENTS.index("FAIL")
    finish = recipes.GCUT_EVENTS.index("FINISH")
    assert (dataset.lengths[event == fail].mean()
            < dataset.lengths[event == finish].mean())
    dataset.validate()  # Zeros after each end, flags 1...1 0...0.
    with pytest.raises(ValueError, match="GCUT schema"):
        recipes.synthetic_gcut(
            10, feature_outputs=[Output("CONTINUOUS", 2, "ZERO_ONE")]
        )


@needs_shared_data
def test_gcut_schema_is_the_shared_one():
    folder = SHARED_DATA / "google_schema"
    assert load_outputs(folder / "data_feature_output.pkl") == (
        recipes.GCUT_FEATURE_OUTPUTS
    )
    assert load_outputs(folder / "data_attribute_output.pkl") == (
        recipes.GCUT_ATTRIBUTE_OUTPUTS
    )
    data = recipes.load_recipe("gcut", quick=True, schema_dir=folder)
    assert data["train"].feature_outputs == recipes.GCUT_FEATURE_OUTPUTS


def test_load_recipe_flights_quick():
    data = recipes.load_recipe("flights", quick=True)
    train, test = data["train"], data["test"]
    assert train.max_sequence_len == 28
    assert len(train) + len(test) == 234 and len(test) == 47
    assert data["preset"] == "flights" and not data["synthetic"]
    assert data["transformer"].attribute_names == ["carrier", "origin", "dest"]
    with pytest.raises(ValueError, match="takes no `data_dir`"):
        recipes.load_recipe("flights", data_dir=".")


def test_load_recipe_stand_ins_are_labelled_synthetic():
    for name in ("wwt", "gcut"):
        data = recipes.load_recipe(name, quick=True, num_series=20)
        assert data["synthetic"] is True
        assert "SYNTHETIC" in data["source"]
        assert len(data["train"]) == 20
        assert data["transformer"].feature_outputs == (
            data["train"].feature_outputs
        )


def test_load_recipe_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Unknown recipe"):
        recipes.load_recipe("nope")
    with pytest.raises(ValueError, match="needs the FCC_MBA folder"):
        recipes.load_recipe("mba")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        recipes.load_recipe("mba", data_dir=tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="data_train.npz"):
        recipes.load_recipe("wwt", data_dir=tmp_path)
    from keras_dg.data import save_dg

    save_dg(tiny_dataset(n=6), tmp_path / "other")
    with pytest.raises(ValueError, match="does not have the WWT schema"):
        recipes.load_recipe("wwt", data_dir=tmp_path / "other")
    # GCUT from files keeps generic names when the layout differs.
    data = recipes.load_recipe("gcut", data_dir=tmp_path / "other")
    assert data["synthetic"] is False and len(data["test"]) == 1
    assert data["transformer"].attribute_names == [
        "attribute_0", "attribute_1"
    ]
    with pytest.raises(ValueError, match="num_series"):
        recipes.load_recipe("wwt", num_series=0)


@needs_shared_data
def test_load_recipe_mba_in_real_units():
    data = recipes.load_recipe("mba", data_dir=FCC_MBA, quick=True)
    train, test = data["train"], data["test"]
    assert len(train) == 200 and len(test) == 139
    table = data["transformer"].inverse_transform(train[:5])
    low = train.extras["data_feature_min"]
    high = train.extras["data_feature_max"]
    assert table["traffic_bytes"].between(low[0] * 0.999, high[0]).all()
    assert table["traffic_bytes"].max() > 1e6  # Bytes, not [0, 1].
    assert list(table.columns[2:5]) == recipes.MBA_ATTRIBUTES
