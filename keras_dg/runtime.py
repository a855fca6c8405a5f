"""Runtime settings that make DoppelGANger faster on CPU.

DoppelGANger's training step is a long chain of small ops (one LSTM step
after another, each a [batch, units] matmul and a few element-wise ops) beside
independent work (the critics, the other generator pieces). On CPU such ops
run best single-threaded, with the independent chains side by side on the
other cores: one intra-op thread and as many inter-op threads as cores.
Generation runs two chunks at once, one per core, and does as well or better
with the same layout.

`import keras_dg` sets that layout on TensorFlow (`apply_default_cpu_threads`)
unless one of these holds, in which case TensorFlow's own pools stay:
- the environment variable `KERAS_DG_CPU_THREADS` is `off` (an integer
  sets the intra-op threads instead of 1; `auto`, the default, is 1);
- the pools were set already (`tf.config.threading`, or
  `TF_NUM_INTRAOP_THREADS` / `TF_NUM_INTEROP_THREADS`): the user's choice;
- TensorFlow already ran an op (its pools are fixed then);
- a GPU is visible, or the process may use a single core.
JAX (XLA) and PyTorch keep their own defaults. Measured on 2 cores, in
the same run as TensorFlow's own pools (`benchmarks/RESULTS.md`, the
comparison of 2026-12-06 19:20): training 1.11x at the MBA (T=56) and the
page-view (T=550) shapes, generation as fast.
"""

import os

import keras

from keras_dg.validation import check_positive_int

CPU_THREADS_ENV = "KERAS_DG_CPU_THREADS"
_TENSORFLOW_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def set_cpu_threads(intra_op=1, inter_op=None):
    """Sets the backend's CPU thread pools.

    `import keras_dg` already sets one intra-op thread and one inter-op
    thread per core on TensorFlow (see the module docs); call this to choose
    other counts, first thing in the process, before any TensorFlow op runs
    (TensorFlow fixes its pools on first use).

    Args:
        intra_op: int. Threads one op may use. Defaults to 1.
        inter_op: int or None. Ops run side by side. Defaults to the number
            of CPU cores this process may use. TensorFlow only (PyTorch has
            no equivalent for one process's graph; JAX/XLA decides itself).

    Raises:
        ValueError: for a non-positive count, or when TensorFlow's pools are
            already fixed.

    Example:

    >>> import keras_dg
    >>> keras_dg.runtime.set_cpu_threads()  # doctest: +SKIP
    """
    check_positive_int(intra_op, "intra_op")
    if inter_op is None:
        inter_op = _cores()
    check_positive_int(inter_op, "inter_op")
    backend = keras.config.backend()
    if backend == "tensorflow":
        if not _set_tensorflow_pools(intra_op, inter_op):
            raise ValueError(
                "set_cpu_threads must run before TensorFlow runs its first op "
                "(its thread pools are fixed then); call it first thing in "
                "the process."
            )
    elif backend == "torch":
        import torch

        torch.set_num_threads(intra_op)


def default_intra_op_threads(environ=None):
    """The intra-op threads `KERAS_DG_CPU_THREADS` asks for: 1 for `auto`
    (or unset), the integer it holds, or None for `off`.

    Raises:
        ValueError: for any other value.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(CPU_THREADS_ENV, "auto").strip().lower()
    if value in ("", "auto"):
        return 1
    if value == "off":
        return None
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise ValueError(
        f"The environment variable {CPU_THREADS_ENV} must be 'auto', 'off' "
        "or a positive integer (intra-op threads per op). Received: "
        f"{environ[CPU_THREADS_ENV]!r}."
    )


def apply_default_cpu_threads():
    """Sets TensorFlow's CPU pools to `default_intra_op_threads()` intra-op
    threads and one inter-op thread per core, where the module docs say so
    (run by `import keras_dg`). Returns whether it set them."""
    intra_op = default_intra_op_threads()
    if (
        intra_op is None
        or keras.config.backend() != "tensorflow"
        or any(os.environ.get(name) for name in _TENSORFLOW_ENV)
        or _cores() < 2
    ):
        return False
    import tensorflow as tf

    threading = tf.config.threading
    if (
        threading.get_intra_op_parallelism_threads()
        or threading.get_inter_op_parallelism_threads()
        or tf.config.list_physical_devices("GPU")
    ):
        return False
    return _set_tensorflow_pools(intra_op, _cores())


def _cores():
    return len(os.sched_getaffinity(0))


def _set_tensorflow_pools(intra_op, inter_op):
    """Sets TensorFlow's pools; False if they are fixed already."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        return False
    return True
