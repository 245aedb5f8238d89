"""Keras callbacks shared by the neural families: metrics.jsonl logging and resumable checkpoints."""

from __future__ import annotations

import math
import time

import keras

from lmzoo.models.distribute import ClipAfterAllReduce
from lmzoo.runs import RunDir


class MetricsLog(keras.callbacks.Callback):
    """Append training metrics to the run's metrics.jsonl.

    Every `every_n_steps` batches (if set) and at each epoch end it writes the optimizer step,
    the wall-clock seconds since training first started (continued across resumes), and
    Keras's logs (loss, val_loss, ...). Records are float64 from Python floats.

    Example:
        >>> callback = MetricsLog(RunDir("/tmp/run"), every_n_steps=50)
    """

    def __init__(self, run: RunDir, every_n_steps: int | None = None, tokens_per_step: int = 0):
        super().__init__()
        self.run = run
        self.every_n_steps = every_n_steps
        self.tokens_per_step = tokens_per_step

    def on_train_begin(self, logs=None):
        previous = self.run.read_metrics()
        self._offset = previous[-1].get("seconds", 0.0) if previous else 0.0
        self._start = time.perf_counter()

    def _write(self, logs, **extra):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        record = {"step": step, "seconds": self._offset + time.perf_counter() - self._start, **extra}
        if self.tokens_per_step:
            record["tokens"] = step * self.tokens_per_step
        for key, value in (logs or {}).items():
            value = float(value)
            record[key] = value if math.isfinite(value) else None
        self.run.log_metrics(record)

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) % self.every_n_steps == 0:
            self._write(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs, epoch=epoch + 1)


def training_callbacks(
    run: RunDir, *, checkpoint_every_n_steps: int | str = "epoch", log_every_n_steps: int | None = None,
    tokens_per_step: int = 0,
) -> list[keras.callbacks.Callback]:
    """The standard set: metrics.jsonl, a resumable backup (model, optimizer, step), NaN guard, and
    gradient clipping after the cross-replica sum when training is distributed.

    `keras.callbacks.BackupAndRestore` restores the weights, the optimizer state and the
    epoch/step counters when `fit` starts again after an interruption, and deletes its backup
    when training finishes.
    """
    return [
        keras.callbacks.BackupAndRestore(str(run.checkpoint_dir / "backup"), save_freq=checkpoint_every_n_steps),
        keras.callbacks.TerminateOnNaN(),
        MetricsLog(run, every_n_steps=log_every_n_steps, tokens_per_step=tokens_per_step),
        ClipAfterAllReduce(),
    ]
