"""Runtime settings that make DoppelGANger faster on CPU.

DoppelGANger's training step is a long chain of small ops (one LSTM step
after another, each a [batch, units] matmul and a few element-wise ops) beside
independent work (the critics, the other generator pieces). On CPU such ops
run best single-threaded, with the independent chains side by side on the
other cores: one intra-op thread and as many inter-op threads as cores.
Measured on 2 cores (benchmarks/RESULTS.md): +25% training throughput at the
page-view shape (T=550), the same at the MBA shape (T=56).
"""

import os

import keras

from keras_dg.validation import check_positive_int


def set_cpu_threads(intra_op=1, inter_op=None):
    """Sets the backend's CPU thread pools for training.

    Call it once, first thing, before any TensorFlow op runs (TensorFlow
    fixes its pools on first use).

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
        inter_op = len(os.sched_getaffinity(0))
    check_positive_int(inter_op, "inter_op")
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        except RuntimeError as error:
            raise ValueError(
                "set_cpu_threads must run before TensorFlow runs its first op "
                "(its thread pools are fixed then); call it first thing in "
                f"the process. TensorFlow said: {error}"
            ) from None
    elif backend == "torch":
        import torch

        torch.set_num_threads(intra_op)
