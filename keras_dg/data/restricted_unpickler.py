"""Safe loading of the original format's pickled `Output` lists.

The paper's datasets ship their specs as pickles (`data_feature_output.pkl`,
`data_attribute_output.pkl`). A plain `pickle.load` runs whatever code a
pickle names, so a downloaded dataset could execute arbitrary commands. This
module reads them with an allow-list instead: only the original classes
(`Output`, `OutputType`, `Normalization` of module `output` or `gan.output`)
and the two helpers that protocol 0 uses to rebuild plain objects
(`copy_reg._reconstructor` with base `object`) are resolved, each to a
harmless stand-in. Every other global (`os.system`, `builtins.eval`, ...)
raises `UnsafePickleError` naming it before anything is called. The
stand-ins are then turned into validated `keras_dg.specs.Output` objects.

Reference:
    `shared/ALGORITHM.md` §1 (the pickles name the top-level module `output`;
    Output objects are restored from their `__dict__`, enum members as
    `EnumClass(value)`).
"""

import io
import os
import pickle

from keras_dg.specs import Normalization
from keras_dg.specs import Output
from keras_dg.specs import OutputType

_MODULES = ("output", "gan.output")
_OUTPUT_KEYS = ("type_", "dim", "normalization", "is_gen_flag")


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle names a global outside the allow-list, or holds something
    other than a list of `Output` specs."""


class _PickledOutput:
    """Stand-in for the original `output.Output`: only stores its state."""

    # A class attribute, since NEWOBJ creates instances without `__init__`.
    state = None

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]
        if not isinstance(state, dict) or not all(
            isinstance(key, str) for key in state
        ):
            raise UnsafePickleError(
                "An `output.Output` in the pickle has a state that is not a "
                f"dict of attribute names: {state!r}."
            )
        self.state = state


class _PickledEnum:
    """Stand-in for a member of the original `OutputType`/`Normalization`."""

    def __init__(self, enum_cls, value):
        self.enum_cls = enum_cls
        self.value = value

    def __setstate__(self, state):
        raise UnsafePickleError(
            f"A pickled `{self.enum_cls.__name__}` member must not carry "
            f"state. Received: {state!r}"
        )


def _enum_factory(enum_cls):
    def make_member(value):
        return _PickledEnum(enum_cls, value)

    make_member.__name__ = enum_cls.__name__
    return make_member


class _ObjectBase:
    """Stand-in for `builtins.object`, only valid as `_reconstructor`'s
    base class."""

    def __init__(self, *args, **kwargs):
        raise UnsafePickleError(
            "`builtins.object` may only appear as the base class of "
            "`copy_reg._reconstructor` in an Output pickle."
        )


def _reconstructor(cls, base, state):
    """Safe `copy_reg._reconstructor` for `Output` objects only."""
    if not (
        cls is _PickledOutput and base is _ObjectBase and state is None
    ):
        raise UnsafePickleError(
            "`copy_reg._reconstructor` is only allowed to rebuild an "
            f"`output.Output` from `object`. Received cls={cls!r}, "
            f"base={base!r}, state={state!r}."
        )
    return _PickledOutput()


_ALLOWED = {}
for _module in _MODULES:
    _ALLOWED[(_module, "Output")] = _PickledOutput
    _ALLOWED[(_module, "OutputType")] = _enum_factory(OutputType)
    _ALLOWED[(_module, "Normalization")] = _enum_factory(Normalization)
for _module in ("copy_reg", "copyreg"):
    _ALLOWED[(_module, "_reconstructor")] = _reconstructor
for _module in ("__builtin__", "builtins"):
    _ALLOWED[(_module, "object")] = _ObjectBase


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only resolves the original `Output` classes.

    `find_class` maps (`output` | `gan.output`, `Output` | `OutputType` |
    `Normalization`) to inert stand-ins and allows protocol 0's
    `copy_reg._reconstructor`/`__builtin__.object` pair, which can only
    rebuild an `Output`. Any other global raises `UnsafePickleError` (a
    `pickle.UnpicklingError` and a `ValueError`) naming it; nothing named by
    the pickle is imported or called. Use `load_outputs` to get validated
    `keras_dg.specs.Output` objects.

    Args:
        file: binary file object to read from.
        source: str. Where the bytes come from, used in error messages.
            Defaults to `"<pickle>"`.

    Example:

    >>> import io, pickle
    >>> evil = b"cos\\nsystem\\n(S'echo pwned'\\ntR."
    >>> try:
    ...     RestrictedUnpickler(io.BytesIO(evil)).load()
    ... except UnsafePickleError as e:
    ...     print(str(e)[:44])
    <pickle> names the global 'os.system', which
    """

    def __init__(self, file, source="<pickle>"):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module, name):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise UnsafePickleError(
                f"{self.source} names the global '{module}.{name}', which is "
                "not allowed: an Output pickle may only refer to "
                "output.Output, output.OutputType and output.Normalization "
                "(or gan.output.*). Refusing to load it; nothing was run."
            )
        return allowed

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self.source} uses a persistent id ({pid!r}), which is not "
            "allowed in an Output pickle."
        )


def _to_enum(value, enum_cls, source, index, key):
    if not (isinstance(value, _PickledEnum) and value.enum_cls is enum_cls):
        raise ValueError(
            f"{source}: output {index} has {key}={value!r}; expected an "
            f"`{enum_cls.__name__}` member."
        )
    raw = value.value
    if isinstance(raw, bytes):
        raw = raw.decode("latin1")
    try:
        return enum_cls(raw)
    except ValueError:
        valid = [member.value for member in enum_cls]
        raise ValueError(
            f"{source}: output {index} has {key}={enum_cls.__name__}"
            f"({raw!r}); expected one of {valid}."
        ) from None


def _to_output(item, source, index):
    if not isinstance(item, _PickledOutput) or item.state is None:
        raise ValueError(
            f"{source}: item {index} is {item!r}, not an `output.Output`."
        )
    state = item.state
    unknown = sorted(set(state) - set(_OUTPUT_KEYS))
    missing = [key for key in ("type_", "dim") if key not in state]
    if unknown or missing:
        raise ValueError(
            f"{source}: output {index} has attributes {sorted(state)}; "
            f"expected {list(_OUTPUT_KEYS)} (unknown: {unknown}, missing: "
            f"{missing})."
        )
    type_ = _to_enum(state["type_"], OutputType, source, index, "type_")
    normalization = state.get("normalization")
    if normalization is not None:
        normalization = _to_enum(
            normalization, Normalization, source, index, "normalization"
        )
    is_gen_flag = state.get("is_gen_flag", False)
    if not isinstance(is_gen_flag, bool):
        raise ValueError(
            f"{source}: output {index} has is_gen_flag={is_gen_flag!r}; "
            "expected True or False."
        )
    try:
        return Output(type_, state["dim"], normalization, is_gen_flag)
    except ValueError as e:
        raise ValueError(f"{source}: output {index} is invalid: {e}") from None


def load_outputs(file):
    """Loads a pickled list of original `Output` objects safely.

    Args:
        file: str, path-like, bytes, or a binary file object holding a
            pickle (protocol 0 to 5) of a list of `output.Output` (or
            `gan.output.Output`) objects.

    Returns:
        A list of validated `keras_dg.specs.Output`.

    Raises:
        UnsafePickleError: the pickle names any other global.
        ValueError: the pickle is not a list of valid Output specs.

    Example:

    >>> load_outputs("../shared/data/FCC_MBA/data_feature_output.pkl")
    ... # doctest: +SKIP
    [Output(type_=CONTINUOUS, dim=1, normalization=ZERO_ONE), ...]
    """
    if isinstance(file, (bytes, bytearray)):
        source = "<bytes>"
        handle = io.BytesIO(file)
    elif isinstance(file, (str, os.PathLike)):
        source = os.fspath(file)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"No Output pickle at '{source}'.")
        with open(source, "rb") as f:
            handle = io.BytesIO(f.read())
    elif hasattr(file, "read"):
        source = getattr(file, "name", "<file>")
        handle = file
    else:
        raise ValueError(
            "`file` must be a path, bytes or a binary file object. "
            f"Received: {type(file).__name__}"
        )
    try:
        items = RestrictedUnpickler(handle, source=source).load()
    except UnsafePickleError:
        raise
    except ValueError as e:
        raise ValueError(
            f"{source} is not a valid Output pickle: {e}"
        ) from None
    except Exception as e:  # Truncated or corrupt data, bad opcodes, ...
        raise UnsafePickleError(
            f"{source} is not a valid Output pickle: "
            f"{type(e).__name__}: {e}"
        ) from None
    if not isinstance(items, list):
        raise ValueError(
            f"{source} must hold a list of Output objects; it holds a "
            f"{type(items).__name__}."
        )
    return [_to_output(item, source, i) for i, item in enumerate(items)]
