"""Property-based tests: a saved `.keras` file whose config has a random
field tampered is refused with a `ValueError` that names the field (or
loads as exactly what the config says), never a raw traceback, never code
run."""

import json
import os
import zipfile

import keras
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from keras_dg.data.readers import load_model
from tests.harness import tiny_model

# Code that a config could try to run on load: a marker file it would
# write (the test fails if it appears).
_MARKER = "keras_dg_tampered_config_ran_code"


def _attacks(marker):
    command = f"touch {marker}"
    code = f"open({marker!r}, 'w').close()"
    return [
        {"module": "os", "class_name": "system", "config": command},
        {"module": "os", "class_name": "system", "config": {"command": command}},
        {"module": "builtins", "class_name": "eval", "config": code},
        {"module": "builtins", "class_name": "exec", "config": {"source": code}},
        {"module": "subprocess", "class_name": "call",
         "config": {"args": ["touch", marker]}},
        {"class_name": "__lambda__", "config": {"code": code, "defaults": None,
                                                "closure": None}},
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"function": {"class_name": "__lambda__",
                                 "config": {"code": code}}}},
    ]


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["float32", "float77", "mixed_float16", "int8", "",
                     "ZERO_ONE", "CONTINUOUS", "random", "auto"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved tiny model: (path, its config.json)."""
    folder = tmp_path_factory.mktemp("tampered")
    path = str(folder / "model.keras")
    model = tiny_model()
    model.compile()  # Saved with its compile config, as a trained model.
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    return path, config


def _write_tampered(source, config, target):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "config.json":
                data = json.dumps(config)
            zout.writestr(name, data)


def _set(config, path, value):
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _fields(config):
    """Paths of every field of the model's config, nested ones included
    (an output's `dim`, the dtype policy's `name`, ...)."""
    paths = []

    def walk(node, path):
        items = (
            node.items() if isinstance(node, dict)
            else enumerate(node) if isinstance(node, list) else ()
        )
        for key, value in items:
            paths.append(path + (key,))
            walk(value, path + (key,))

    walk(config["config"], ("config",))
    return paths


def _check_tampered(saved, tmp_path, path, value, marker):
    source, config = saved
    tampered = json.loads(json.dumps(config))
    _set(tampered, path, value)
    target = os.path.join(tmp_path, "tampered.keras")
    _write_tampered(source, tampered, target)
    field = path[-1] if isinstance(path[-1], str) else path[-2]
    try:
        model = load_model(target)
    except ValueError as e:
        # Refused: the message names the field (or its parent, for a list
        # entry) or the value given; or, for a valid config that disagrees
        # with the saved weights (another shape), the weights expected.
        names = {str(p) for p in path[1:] if isinstance(p, str)}
        names |= {repr(value), str(value), "expected"}
        assert any(n in str(e) for n in names), (path, value, str(e))
    else:
        # Loaded: the value meant what it says.
        rebuilt = model.get_config()
        node = rebuilt
        for key in path[1:]:
            node = node[key]
        assert node == value or _same_meaning(field, node, value) or (
            # A field Keras ignores, inside a policy that stayed the same.
            path[1] == "dtype" and rebuilt["dtype"] == config["config"]["dtype"]
        ), (path, value, node)
    assert not os.path.exists(marker), f"code ran: {path}={value!r}"


def _same_meaning(field, rebuilt, value):
    """Values a config normalises on load (a dtype name for its policy,
    no name for a generated one)."""
    if field == "name" and value is None:
        return isinstance(rebuilt, str)
    if isinstance(rebuilt, dict) and rebuilt.get("class_name") in (
        "DTypePolicy", "FloatDTypePolicy"
    ):
        return True
    return isinstance(value, (int, float)) and rebuilt == value


def _run(saved, tmp_path, examples):
    marker = os.path.join(tmp_path, _MARKER)
    fields = _fields(saved[1])

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(fields),
           st.one_of(_JSON, st.sampled_from(_attacks(marker))))
    def check(path, value):
        _check_tampered(saved, tmp_path, path, value, marker)

    check()


def test_a_tampered_dtype_is_refused_by_name(saved, tmp_path):
    marker = os.path.join(tmp_path, _MARKER)
    for value in _attacks(marker) + ["float77", 3, {"a": 1}, [], None]:
        _check_tampered(saved, tmp_path, ("config", "dtype"), value, marker)


def test_tampered_fields_are_refused_cleanly(saved, tmp_path):
    _run(saved, tmp_path, examples=25)


@pytest.mark.slow
def test_tampered_fields_are_refused_cleanly_many(saved, tmp_path):
    _run(saved, tmp_path, examples=int(os.environ.get("TAMPER_EXAMPLES", 500)))
