import builtins
import enum
import os
import pickle
import sys
import types

import pytest

from keras_dg.data.original_format import dumps_outputs
from keras_dg.data.restricted_unpickler import UnsafePickleError
from keras_dg.data.restricted_unpickler import load_outputs
from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType
from tests.data.shared_data import SHARED_DATA
from tests.data.shared_data import needs_shared_data

SPECS = [
    Output("CONTINUOUS", 1, "ZERO_ONE"),
    Output("CONTINUOUS", 3, "MINUSONE_ONE"),
    Output("DISCRETE", 300),
]


def _original_module(monkeypatch, name="output"):
    """A stand-in for the original `gan/output.py`, importable as `name`."""
    module = types.ModuleType(name)

    class OriginalOutputType(enum.Enum):
        CONTINUOUS = "CONTINUOUS"
        DISCRETE = "DISCRETE"

    class OriginalNormalization(enum.Enum):
        ZERO_ONE = "ZERO_ONE"
        MINUSONE_ONE = "MINUSONE_ONE"

    class OriginalOutput(object):
        def __init__(self, type_, dim, normalization=None, is_gen_flag=False):
            self.type_ = type_
            self.dim = dim
            self.normalization = normalization
            self.is_gen_flag = is_gen_flag

    for cls, short in (
        (OriginalOutputType, "OutputType"),
        (OriginalNormalization, "Normalization"),
        (OriginalOutput, "Output"),
    ):
        cls.__name__ = cls.__qualname__ = short
        cls.__module__ = name
        setattr(module, short, cls)
    if "." in name:
        package = types.ModuleType(name.split(".")[0])
        setattr(package, name.split(".")[1], module)
        monkeypatch.setitem(sys.modules, package.__name__, package)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _original_specs(module):
    return [
        module.Output(module.OutputType.CONTINUOUS, 1,
                      module.Normalization.ZERO_ONE),
        module.Output(module.OutputType.CONTINUOUS, 3,
                      module.Normalization.MINUSONE_ONE),
        module.Output(module.OutputType.DISCRETE, 300),
    ]


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("module_name", ["output", "gan.output"])
def test_loads_original_pickles(monkeypatch, protocol, module_name):
    module = _original_module(monkeypatch, module_name)
    data = pickle.dumps(_original_specs(module), protocol=protocol)
    monkeypatch.delitem(sys.modules, module_name)  # Nothing to import now.
    outputs = load_outputs(data)
    assert outputs == SPECS
    assert all(type(o) is Output for o in outputs)
    assert outputs[0].type_ is OutputType.CONTINUOUS
    assert outputs[1].normalization is Normalization.MINUSONE_ONE


def test_written_pickles_load_in_the_original_code(monkeypatch):
    module = _original_module(monkeypatch)
    originals = pickle.loads(dumps_outputs(SPECS))
    assert [type(o) for o in originals] == [module.Output] * 3
    assert originals[1].type_ is module.OutputType.CONTINUOUS
    assert originals[1].normalization is module.Normalization.MINUSONE_ONE
    assert originals[2].normalization is None
    assert [o.dim for o in originals] == [1, 3, 300]
    assert [o.is_gen_flag for o in originals] == [False] * 3
    assert load_outputs(dumps_outputs(SPECS)) == SPECS
    assert load_outputs(dumps_outputs([])) == []


@needs_shared_data
@pytest.mark.parametrize(
    "path, expected",
    [
        ("FCC_MBA/data_feature_output.pkl",
         [Output("CONTINUOUS", 1, "ZERO_ONE")] * 2),
        ("FCC_MBA/data_attribute_output.pkl",
         [Output("DISCRETE", 15), Output("DISCRETE", 5),
          Output("DISCRETE", 53)]),
        ("google_schema/data_feature_output.pkl",
         [Output("CONTINUOUS", 1, "ZERO_ONE")] * 9),
        ("google_schema/data_attribute_output.pkl", [Output("DISCRETE", 4)]),
    ],
)
def test_loads_the_paper_pickles(path, expected):
    assert load_outputs(SHARED_DATA / path) == expected


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize(
    "func, name", [(os.system, "system"), (builtins.eval, "eval")]
)
def test_malicious_pickles_are_refused_and_nothing_runs(
    tmp_path, protocol, func, name
):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    arg = command if func is os.system else (
        f"__import__('os').system({command!r})"
    )
    data = pickle.dumps(_Evil(func, arg), protocol=protocol)
    with pytest.raises(UnsafePickleError, match=rf"\.{name}'.*not allowed"):
        load_outputs(data)
    assert not marker.exists()
    # The error is both a pickle error and a ValueError.
    with pytest.raises(pickle.UnpicklingError):
        load_outputs(data)
    with pytest.raises(ValueError):
        load_outputs(data)


def test_error_names_the_global():
    with pytest.raises(UnsafePickleError, match=r"'os\.system'"):
        load_outputs(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(UnsafePickleError, match=r"'__builtin__\.eval'"):
        load_outputs(b"c__builtin__\neval\n(S'1+1'\ntR.")


def test_attack_hidden_inside_an_output_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    spec = dumps_outputs([Output("DISCRETE", 2)])
    evil = pickle.dumps(_Evil(os.system, f"touch {marker}"), protocol=2)
    # Replace the `dim` value (BININT1 2) by the evil call's opcodes.
    body = evil[2:-1]  # Strip PROTO and STOP.
    data = spec.replace(b"U\x03dimK\x02", b"U\x03dim" + body)
    with pytest.raises(UnsafePickleError, match="os.system|posix.system"):
        load_outputs(data)
    assert not marker.exists()


def test_reconstructor_only_rebuilds_outputs():
    data = (
        b"ccopy_reg\n_reconstructor\n(coutput\nOutputType\n"
        b"c__builtin__\nobject\nNtR."
    )
    with pytest.raises(UnsafePickleError, match="_reconstructor"):
        load_outputs(data)
    with pytest.raises(UnsafePickleError, match="object"):
        load_outputs(b"c__builtin__\nobject\n(tR.")


def test_enum_members_cannot_be_modified():
    # OutputType('CONTINUOUS') followed by BUILD with a state dict.
    data = (
        b"coutput\nOutputType\n(S'CONTINUOUS'\ntR(dS'_value_'\nS'X'\nsb."
    )
    with pytest.raises(UnsafePickleError, match="must not carry state"):
        load_outputs(data)
    assert OutputType.CONTINUOUS.value == "CONTINUOUS"


@pytest.mark.parametrize(
    "data, message",
    [
        (pickle.dumps({"a": 1}, protocol=2), "list of Output"),
        (pickle.dumps([1, 2], protocol=2), "item 0 is 1"),
        (
            b"(lp0\nccopy_reg\n_reconstructor\n(coutput\nOutput\n"
            b"c__builtin__\nobject\nNtR(dS'dim'\nI2\nsS'type_'\ncoutput\n"
            b"OutputType\n(S'SQUARE'\ntRsba.",
            r"OutputType\('SQUARE'\)",
        ),
        (
            b"(lp0\nccopy_reg\n_reconstructor\n(coutput\nOutput\n"
            b"c__builtin__\nobject\nNtR(dS'dim'\nI2\nsS'colour'\nI1\n"
            b"sS'type_'\ncoutput\nOutputType\n(S'DISCRETE'\ntRsba.",
            r"unknown: \['colour'\]",
        ),
        (
            b"(lp0\nccopy_reg\n_reconstructor\n(coutput\nOutput\n"
            b"c__builtin__\nobject\nNtR(dS'dim'\nI0\nsS'type_'\ncoutput\n"
            b"OutputType\n(S'DISCRETE'\ntRsba.",
            "dim",
        ),
        (b"\x80\x02]q\x00(K\x01", "not a valid Output pickle"),
    ],
)
def test_malformed_pickles_raise_value_errors(data, message):
    with pytest.raises(ValueError, match=message):
        load_outputs(data)


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="No Output pickle"):
        load_outputs(tmp_path / "missing.pkl")
    with pytest.raises(ValueError, match="`file` must be"):
        load_outputs(3)
