"""Data-parallel training for the families that train with `fit`: one config field, one helper.

`distribute` is a config field of each such family (Transformer, seq2seq, Word2Vec, rnnlm):
- "none": one device, as before;
- "mirrored": one process, every local device (GPUs, else logical CPU devices), synchronous:
  `tf.distribute.MirroredStrategy` on TensorFlow, `keras.distribution.DataParallel` on JAX;
- "multi-worker": one process per machine, described by `TF_CONFIG`, with
  `tf.distribute.MultiWorkerMirroredStrategy` (TensorFlow only); every worker runs the same command.
The batch in the config is the global batch, and one step equals one single-device step on the same
batch (`strategy_scope` says what differs). Only the chief writes the run directory (`worker_run`).
Two Keras 3 gaps are closed here, each with a test: clipping before the cross-replica sum
(`ClipAfterAllReduce`) and `fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585). Waits
are bounded by `collective_timeout`; a lost peer is one line, not a hang.

References: TensorFlow and Keras distributed-training guides; Goyal et al. 2017 (global batch, lr).

Example (a family's `train()`; `models/window_lm.py` does the same):
    run = distribute.worker_run(run, config.distribute)  # non-chief workers write elsewhere
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        network = build_network(...); network.compile(...); network.fit(...)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import keras

from lmzoo.errors import LmzooError
from lmzoo.runs import RunDir

MODES = ("none", "mirrored", "multi-worker")  # the families' `distribute` field is this Literal
TIMEOUT_ENV = "LMZOO_COLLECTIVE_TIMEOUT"

_strategies: dict[str, Any] = {}  # one strategy per process: TensorFlow allows one multi-worker setup


def collective_timeout() -> float:
    """Seconds any one collective (all-reduce, the first rendezvous) may wait: $LMZOO_COLLECTIVE_TIMEOUT or 300."""
    text = os.environ.get(TIMEOUT_ENV, "300")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise LmzooError(f"{TIMEOUT_ENV}={text!r} is not a positive number of seconds", f"e.g. {TIMEOUT_ENV}=300")
    return value


def tf_config() -> dict | None:
    """The parsed TF_CONFIG (cluster and task), or None when it is not set.

    Example:
        >>> os.environ["TF_CONFIG"] = '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}'
        >>> tf_config()["task"]
        {'type': 'worker', 'index': 1}
        >>> del os.environ["TF_CONFIG"]
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        task, cluster = config["task"], config["cluster"]
        cluster[task["type"]][int(task.get("index", 0))]  # this task's own address must exist
    except (ValueError, KeyError, TypeError, IndexError):
        raise LmzooError("TF_CONFIG is not a valid cluster description",
                         'set it to {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
                         '"index": i}}') from None
    return config


def is_chief(distribute: str = "multi-worker") -> bool:
    """True in the process that writes the run directory: always, except a non-chief multi-worker task.

    The chief is the "chief" task if the cluster has one, else worker 0 (TensorFlow's rule).

    Example:
        >>> is_chief("none")
        True
    """
    config = tf_config() if distribute == "multi-worker" else None
    if config is None:
        return True
    task = config["task"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and int(task.get("index", 0)) == 0 and "chief" not in config["cluster"]


def worker_run(run: RunDir, distribute: str) -> RunDir:
    """The run directory this process writes: `run` for the chief, a temporary one for other workers.

    For "multi-worker" it also checks TF_CONFIG and creates the strategy, which TensorFlow
    requires before the first operation of the process.
    """
    check_mode(distribute)
    if distribute == "multi-worker":
        _strategy(distribute)
        if not is_chief(distribute):
            task = tf_config()["task"]
            return RunDir(tempfile.mkdtemp(prefix=f"lmzoo-{task['type']}{task.get('index', 0)}-"))
    return run


def check_mode(distribute: str) -> None:
    if distribute not in MODES:
        raise LmzooError(f"distribute={distribute!r} is not one of {', '.join(MODES)}")


@contextlib.contextmanager
def strategy_scope(distribute: str, global_batch: int | None = None) -> Iterator[int]:
    """Enter the distribution of `distribute` around build, compile and fit; yields the replica count.

    Fails (one line) when the batch does not split evenly, when "mirrored" finds a single device,
    and when "multi-worker" has no TF_CONFIG: it never falls back to one device silently.

    tf.data batches are split across replicas; each replica's loss is its share of the global mean
    and the optimizer sums the gradients, so one step equals one single-device step on the same
    batch (the tests check the losses). The learning-rate schedule counts optimizer steps, and
    checkpoints, resume and metrics.jsonl are the same files. What differs: random draws inside a
    step (dropout, scheduled sampling) are drawn per replica; and under a TensorFlow strategy Keras
    builds the model from a first iterator's batch, then trains from a new one, so a dataset that
    reshuffles on every iteration (seq2seq's batch shuffle) starts on its second permutation.
    """
    check_mode(distribute)
    if distribute == "none":
        yield 1
        return
    strategy = _strategy(distribute)
    replicas = num_replicas(strategy)
    if global_batch is not None and global_batch % replicas:
        raise LmzooError(f"batch_size={global_batch} does not split over {replicas} replicas",
                         f"the batch is global: use a multiple of {replicas}")
    with strategy.scope(), _lost_workers(distribute):
        yield replicas


@contextlib.contextmanager
def _lost_workers(distribute: str) -> Iterator[None]:
    """Turn a collective that timed out or lost a peer into one line (multi-worker only)."""
    if distribute != "multi-worker":
        yield
        return
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
            tf.errors.CancelledError) as err:
        raise LmzooError(f"multi-worker training stopped: a worker died or stopped answering "
                         f"({type(err).__name__})", f"restart every worker with the same --out to resume "
                         f"from the last checkpoint; collectives wait {collective_timeout():g} s "
                         f"({TIMEOUT_ENV})") from None


def num_replicas(strategy: Any) -> int:
    if keras.config.backend() == "tensorflow":
        return int(strategy.num_replicas_in_sync)
    return len(strategy.device_mesh.devices.flatten())


def _strategy(distribute: str) -> Any:
    if distribute not in _strategies:
        backend = keras.config.backend()
        if backend == "tensorflow":
            _strategies[distribute] = _mirrored() if distribute == "mirrored" else _multi_worker()
        elif backend == "jax" and distribute == "mirrored":
            devices = keras.distribution.list_devices()
            _require_several(devices, "XLA_FLAGS=--xla_force_host_platform_device_count=2 on a CPU")
            _strategies[distribute] = keras.distribution.DataParallel(devices=devices)
        else:
            raise LmzooError(f"distribute={distribute!r} is not supported on the {backend} backend",
                             "use KERAS_BACKEND=tensorflow for multi-worker training")
    return _strategies[distribute]


def _require_several(devices: list, how: str) -> None:
    if len(devices) < 2:
        raise LmzooError(f"distribute='mirrored' found {len(devices)} device ({', '.join(map(str, devices))}): "
                         "nothing to split the batch over",
                         f"use distribute='none', or give the process several devices ({how})")


def _mirrored() -> Any:
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
              [d.name for d in tf.config.list_logical_devices("CPU")]
    _require_several(devices, "GPUs, or use_logical_cpus(2) before TensorFlow starts")
    return tf.distribute.MirroredStrategy(devices=devices)


def _multi_worker() -> Any:
    import tensorflow as tf

    config = tf_config()
    if config is None:
        raise LmzooError("distribute='multi-worker' needs TF_CONFIG, which is not set",
                         'export TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                         '"task": {"type": "worker", "index": 0}}\' on each worker (index 0, 1, ...)')
    timeout = collective_timeout()
    rendezvous(config, timeout)

    class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """Reduces structures leaf by leaf, and scalars without an axis (keras-team/keras#20585)."""

        def reduce(self, reduce_op, value, axis):
            base = super()

            def one(leaf):
                rank = self.experimental_local_results(leaf)[0].shape.rank
                return base.reduce(reduce_op, leaf, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    # Each all-reduce may wait `timeout` seconds; a worker that dies later is caught by the
    # coordination service's heartbeat (about 10 s) and surfaces as an UnavailableError.
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    return MultiWorkerStrategy(communication_options=options)


def rendezvous(config: dict, timeout: float) -> None:
    """Wait until every task of TF_CONFIG answers on its port, for at most `timeout` seconds.

    TensorFlow's own start-up waits for the other workers without a limit, holding the
    interpreter (no Python timer can stop it), so the workers first meet here: each listens on
    its own port (which fails at once if the port is taken) and connects to every other one.
    Once all have answered they are all starting TensorFlow, whose wait is then short.
    """
    import time

    task = config["task"]
    tasks = [(job, i, address) for job in ("chief", "worker") for i, address in enumerate(config["cluster"].get(job, []))]
    me = (task["type"], int(task.get("index", 0)))
    own = next(address for job, i, address in tasks if (job, i) == me)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not fooled by old connections
    try:
        listener.bind(("", _port(own)))
    except OSError as err:
        listener.close()
        raise LmzooError(f"port {_port(own)} of {me[0]} {me[1]} ({own}, from TF_CONFIG) cannot be used: "
                         f"{err.strerror}", "choose a free port for this worker in TF_CONFIG") from None
    deadline = time.monotonic() + timeout
    try:
        listener.listen(64)  # the kernel completes the peers' connections; nothing to accept
        for job, i, address in tasks:
            if (job, i) == me:
                continue
            host = address.rpartition(":")[0].strip("[]")
            while True:
                try:
                    socket.create_connection((host, _port(address)), timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise LmzooError(f"{job} {i} at {address} did not answer within {timeout:g} s",
                                         f"start every worker of TF_CONFIG (or raise {TIMEOUT_ENV})") from None
                    time.sleep(0.2)
    finally:
        listener.close()


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])


def use_logical_cpus(count: int) -> None:
    """Split this process's CPU into `count` logical devices (for "mirrored" without GPUs).

    Must run before TensorFlow or JAX starts: TensorFlow fixes its devices at first use, JAX reads
    XLA_FLAGS at import. Tests and the scaling benchmark use it; on a machine with GPUs, don't.
    """
    if keras.config.backend() == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def global_sum(value: Any) -> Any:
    """`value` summed over the replicas of a TensorFlow strategy (inside a step), else itself.

    A loss that is a mean over a data-dependent count (tokens that are not padding) needs the
    global count: divide the replica's sum by it and the summed gradients are the single-device
    gradients. JAX's `DataParallel` already computes over the whole (sharded) batch.
    """
    if keras.config.backend() != "tensorflow":
        return value
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


class ClipAfterAllReduce(keras.callbacks.Callback):
    """Clip the summed gradient, not each replica's share (Keras 3 on TensorFlow clips before the sum).

    Keras's TensorFlow optimizer calls `_clip_gradients` per replica, then
    `_all_reduce_sum_gradients`; under N > 1 replicas this moves the clipping after the sum.
    With one replica, on JAX, or without clipping it does nothing. It also refuses XLA
    (`jit_compile=True`) under a TensorFlow strategy, which fails there with a variable "located
    in device CPU:1" accessed "from device CPU:0" (tensorflow.org/xla/known_issues), rather than
    turning it off behind the config's back.
    """

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if keras.config.backend() != "tensorflow" or getattr(optimizer, "_lmzoo_clips_after_sum", False):
            return
        if self.model.distribute_strategy.num_replicas_in_sync == 1:
            return
        if getattr(self.model, "jit_compile", False):
            raise LmzooError("jit_compile=True (XLA) does not run under a TensorFlow distribution strategy",
                             "add --set jit_compile=False, or use KERAS_BACKEND=jax (always compiled)")
        if not (optimizer.clipnorm or optimizer.global_clipnorm or optimizer.clipvalue):
            return
        if not (hasattr(optimizer, "_clip_gradients") and hasattr(optimizer, "_all_reduce_sum_gradients")):
            raise LmzooError(f"keras {keras.__version__} changed its optimizer: gradient clipping cannot be moved "
                             "after the cross-replica sum", "use distribute='none', or clipnorm=0")
        clip, all_reduce = optimizer._clip_gradients, optimizer._all_reduce_sum_gradients

        def reduce_then_clip(grads_and_vars):
            pairs = all_reduce(grads_and_vars)
            clipped = clip([grad for grad, _ in pairs])
            return [(grad, variable) for grad, (_, variable) in zip(clipped, pairs, strict=True)]

        optimizer._clip_gradients = lambda grads: grads  # each replica's share: not yet
        optimizer._all_reduce_sum_gradients = reduce_then_clip
        optimizer._lmzoo_clips_after_sum = True
