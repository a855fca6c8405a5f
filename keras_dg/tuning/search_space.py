import inspect

from keras_dg.models.doppelganger import DoppelGANger
from keras_dg.validation import check_positive_int

# Constructor arguments that come from the data, never from a search space.
_DATA_ARGUMENTS = ("feature_outputs", "attribute_outputs", "max_sequence_len")


def _tunable_arguments():
    parameters = inspect.signature(DoppelGANger.__init__).parameters
    return tuple(
        name
        for name, p in parameters.items()
        if name != "self"
        and name not in _DATA_ARGUMENTS
        and p.kind is not inspect.Parameter.VAR_KEYWORD
    )


def sample_len_choices(max_sequence_len, max_lstm_steps=100):
    """The `sample_len` values worth searching for series of length T.

    The divisors S of T whose LSTM runs `2 <= T / S <= max_lstm_steps`
    steps: one step (S = T) removes the recurrence, and long recurrences are
    what batch generation avoids (paper §4.2: S = 10 for T = 550 and S = 8
    for T = 56). When no divisor qualifies (T = 1), all divisors are
    returned.

    Args:
        max_sequence_len: int. T.
        max_lstm_steps: int. The longest recurrence allowed. Defaults to 100.

    Returns:
        Sorted list of ints.

    Example:

    >>> sample_len_choices(56)
    [1, 2, 4, 7, 8, 14, 28]
    >>> sample_len_choices(550, max_lstm_steps=60)
    [10, 11, 22, 25, 50, 55, 110, 275]
    """
    max_sequence_len = check_positive_int(max_sequence_len, "max_sequence_len")
    max_lstm_steps = check_positive_int(max_lstm_steps, "max_lstm_steps")
    divisors = [s for s in range(1, max_sequence_len + 1)
                if max_sequence_len % s == 0]
    chosen = [
        s for s in divisors if 2 <= max_sequence_len // s <= max_lstm_steps
    ]
    return chosen or divisors


def _default_entries(max_sequence_len, max_lstm_steps):
    sample_lens = sample_len_choices(max_sequence_len, max_lstm_steps)
    # The paper's S = 8 for T = 56 is the default when it is a choice.
    default_sample_len = min(sample_lens, key=lambda s: abs(s - 8))

    def learning_rate(name):
        return lambda hp: hp.Float(
            name, 1e-4, 1e-3, sampling="log", default=1e-3
        )

    def gp_weight(name):
        return lambda hp: hp.Float(
            name, 1.0, 20.0, sampling="log", default=10.0
        )

    def choice(name, values, default):
        return lambda hp: hp.Choice(name, values, default=default)

    def integer(name, low, high, default):
        return lambda hp: hp.Int(name, low, high, default=default)

    return {
        "sample_len": choice("sample_len", sample_lens, default_sample_len),
        "g_lr": learning_rate("g_lr"),
        "d_lr": learning_rate("d_lr"),
        "attr_d_lr": learning_rate("attr_d_lr"),
        "d_rounds": integer("d_rounds", 1, 3, 1),
        "num_packing": integer("num_packing", 1, 3, 1),
        "aux_disc": lambda hp: hp.Boolean("aux_disc", default=True),
        "self_norm": lambda hp: hp.Boolean("self_norm", default=True),
        "gen_feature_num_layers": integer("gen_feature_num_layers", 1, 2, 1),
        "gen_feature_num_units": choice(
            "gen_feature_num_units", [50, 100, 200], 100
        ),
        "gen_attribute_num_layers": integer(
            "gen_attribute_num_layers", 2, 4, 3
        ),
        "gen_attribute_num_units": choice(
            "gen_attribute_num_units", [50, 100, 200], 100
        ),
        "disc_num_layers": integer("disc_num_layers", 3, 5, 5),
        "disc_num_units": choice("disc_num_units", [100, 200, 400], 200),
        "attr_disc_num_layers": integer("attr_disc_num_layers", 3, 5, 5),
        "attr_disc_num_units": choice(
            "attr_disc_num_units", [100, 200, 400], 200
        ),
        "d_gp_coe": gp_weight("d_gp_coe"),
        "attr_d_gp_coe": gp_weight("attr_d_gp_coe"),
    }


class SearchSpace:
    """The DoppelGANger hyperparameters a tuner searches, and their ranges.

    An ordered mapping from `DoppelGANger` constructor arguments to functions
    `hp -> value` that declare the hyperparameter on a
    `keras_tuner.HyperParameters` (`hp.Choice`, `hp.Float`, ...) and return
    the value drawn for the trial. `sample(hp)` calls them all and returns
    the constructor keyword arguments. A space is immutable: `fix`,
    `remove` and `extend` return new spaces.

    `SearchSpace.default(T)` covers what the paper found to matter:
    `sample_len` among the divisors of T (`sample_len_choices`), the three
    Adam learning rates in [1e-4, 1e-3] (log scale), `d_rounds` in 1..3,
    `num_packing` in 1..3, `aux_disc`, `self_norm`, the generator's and both
    critics' layers and units around the paper's sizes, and the two
    gradient-penalty weights in [1, 20] (log scale). Each default is the
    original's value.

    Args:
        entries: dict `{argument: callable(hp) -> value}`, or `None` for an
            empty space. Keys must be `DoppelGANger` constructor arguments
            other than `feature_outputs`, `attribute_outputs` and
            `max_sequence_len` (those come from the data).

    Example:

    >>> import keras_tuner as kt
    >>> space = (SearchSpace.default(56)
    ...          .fix(aux_disc=True, num_packing=1)
    ...          .remove("gen_feature_num_layers")
    ...          .extend(g_rounds=lambda hp: hp.Int("g_rounds", 1, 2)))
    >>> kwargs = space.sample(kt.HyperParameters())
    >>> kwargs["aux_disc"], kwargs["num_packing"], kwargs["g_rounds"]
    (True, 1, 1)
    >>> "gen_feature_num_layers" in kwargs
    False

    Reference:
        Lin et al., "Using GANs for Sharing Networked Time Series Data",
        IMC 2020, §4 (the design choices) and §5 (their effects).
    """

    def __init__(self, entries=None):
        entries = {} if entries is None else entries
        if isinstance(entries, SearchSpace):
            entries = entries._entries
        if not isinstance(entries, dict):
            raise ValueError(
                "`entries` must be a dict {argument: callable(hp)} or None. "
                f"Received: {type(entries).__name__}."
            )
        for name, entry in entries.items():
            _check_argument(name, "entries")
            if not callable(entry):
                raise ValueError(
                    f"`entries[{name!r}]` must be a callable hp -> value "
                    f"(e.g. lambda hp: hp.Int({name!r}, 1, 3)). Received: "
                    f"{entry!r}."
                )
        self._entries = dict(entries)

    @classmethod
    def default(cls, max_sequence_len, max_lstm_steps=100):
        """The default space for series of length `max_sequence_len`.

        Args:
            max_sequence_len: int. T of the data.
            max_lstm_steps: int. Upper bound on T / `sample_len`. Defaults
                to 100.
        """
        return cls(_default_entries(max_sequence_len, max_lstm_steps))

    @property
    def names(self):
        """The constructor arguments this space sets, in order."""
        return tuple(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"SearchSpace({list(self._entries)})"

    def fix(self, **values):
        """Narrows the space: each argument is set to one value, recorded as
        `hp.Fixed` so trial summaries show it.

        Args:
            **values: `argument=value` with a bool, int, float or str value.
        """
        entries = dict(self._entries)
        for name, value in values.items():
            _check_argument(name, "fix")
            if not isinstance(value, (bool, int, float, str)):
                raise ValueError(
                    f"`fix({name}=...)` needs a bool, int, float or str (what"
                    f" hp.Fixed records). Received: {value!r}. Pass other "
                    "values as the hypermodel's `model_kwargs`."
                )
            entries[name] = _fixed(name, value)
        return SearchSpace(entries)

    def remove(self, *names):
        """Drops arguments from the space (the model's defaults, or the
        hypermodel's `model_kwargs`, apply to them)."""
        for name in names:
            if name not in self._entries:
                raise ValueError(
                    f"`remove` got {name!r}, which is not in the space. The "
                    f"space holds {list(self._entries)}."
                )
        return SearchSpace(
            {k: v for k, v in self._entries.items() if k not in names}
        )

    def extend(self, **entries):
        """Adds arguments to the space, or replaces their ranges.

        Args:
            **entries: `argument=callable(hp) -> value`.
        """
        return SearchSpace({**self._entries, **entries})

    def sample(self, hp):
        """Declares every hyperparameter on `hp` and returns the
        `DoppelGANger` keyword arguments of this trial."""
        return {name: entry(hp) for name, entry in self._entries.items()}


def _fixed(name, value):
    return lambda hp: hp.Fixed(name, value)


def _check_argument(name, where):
    allowed = _tunable_arguments()
    if name not in allowed:
        if name in _DATA_ARGUMENTS:
            reason = "it comes from the data"
        else:
            reason = "it is not a DoppelGANger constructor argument"
        raise ValueError(
            f"`{where}` got {name!r}, which cannot be searched: {reason}. "
            f"Searchable arguments: {', '.join(allowed)}."
        )
