"""Keras callbacks shared by the neural families: metrics.jsonl logging, resumable checkpoints,
a divergence guard, an exact step budget and a progress line on a terminal; `fit_steps`, the
step-counted fit loop that uses them."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import keras

from lmzoo.errors import LmzooError
from lmzoo.models.distribute import ClipAfterAllReduce
from lmzoo.runs import RunDir, check_interrupted, set_polling


def _step(model: keras.Model) -> int:
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class MetricsLog(keras.callbacks.Callback):
    """Append training metrics to the run's metrics.jsonl.

    Every `every_n_steps` batches (if set) and at each epoch end it writes the optimizer step,
    the wall-clock seconds since training first started (continued across resumes), and
    Keras's logs (loss, val_loss, ...). Records are float64 from Python floats. When training
    starts (after `BackupAndRestore` has restored the step), records past the restored step are
    dropped: they describe work the resumed run does again.

    Example:
        >>> import tempfile
        >>> callback = MetricsLog(RunDir(tempfile.mkdtemp()), every_n_steps=50)
    """

    def __init__(self, run: RunDir, every_n_steps: int | None = None, tokens_per_step: int = 0):
        super().__init__()
        self.run = run
        self.every_n_steps = every_n_steps
        self.tokens_per_step = tokens_per_step

    def on_train_begin(self, logs=None):
        restored = _step(self.model)
        kept = [r for r in self.run.read_metrics() if r.get("step", 0) <= restored]
        self.run.write_metrics(kept)  # also drops a half-written last line
        self._offset = kept[-1].get("seconds", 0.0) if kept else 0.0
        self._start = time.perf_counter()

    def _write(self, logs, **extra):
        step = _step(self.model)
        record = {"step": step, "seconds": self._offset + time.perf_counter() - self._start, **extra}
        if self.tokens_per_step:
            record["tokens"] = step * self.tokens_per_step
        for key, value in (logs or {}).items():
            value = float(value)
            record[key] = value if math.isfinite(value) else None
        self.run.log_metrics(record)

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps and (_step(self.model) % self.every_n_steps == 0):
            self._write(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs, epoch=epoch + 1)


class TrainingDiverged(LmzooError):
    """The loss became NaN or infinite; the run is not finished and its last good checkpoint is kept."""


class StopOnDivergence(keras.callbacks.Callback):
    """Raise `TrainingDiverged` at the first batch whose loss is not finite.

    Keras's `TerminateOnNaN` stops *gracefully*, so `BackupAndRestore` would save the NaN weights
    and then delete its backup, and the family would mark the run complete. Raising instead ends
    `fit` before any of that: the backup of the last good epoch stays on disk.
    """

    def __init__(self, run: RunDir):
        super().__init__()
        self.run = run

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            kept = (f"the last good checkpoint is kept in '{self.run.checkpoint_dir}'" if self.run.has_checkpoint()
                    else "no checkpoint was saved before it")
            raise TrainingDiverged(
                f"training diverged: the loss became {float(loss)} at step {_step(self.model)}; {kept}",
                "lower learning_rate (or check the data) and train again with --overwrite")


class StopOnSignal(keras.callbacks.Callback):
    """Raise `lmzoo.runs.Interrupted` at the first batch end after SIGINT or SIGTERM (`stop_on_signals`).

    Raising (not `stop_training`) ends `fit` before `BackupAndRestore` could save a partial chunk as a
    whole epoch or delete its backup at the end of training: the last checkpoint stays and the same
    `--out` resumes from it. With `steps_per_execution` a batch end comes after each compiled call.
    """

    def on_train_begin(self, logs=None):
        set_polling(True)
        check_interrupted()

    def on_train_batch_end(self, batch, logs=None):
        check_interrupted()

    def on_test_batch_end(self, batch, logs=None):
        check_interrupted()

    def on_train_end(self, logs=None):
        set_polling(False)


class StopAtStep(keras.callbacks.Callback):
    """Stop after exactly `total_steps` optimizer steps, so that the last epoch may be shorter.

    Families that train in chunks of a fixed number of steps (Keras "epochs") would otherwise
    round the length up to a whole chunk.
    """

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) >= self.total_steps:
            self.model.stop_training = True


class StopAtDeadline(keras.callbacks.Callback):
    """Stop once training has taken `seconds` of wall time, keeping `reserve()` seconds for the work
    that still follows the stop (the validation pass that ends the chunk), so the budget holds on
    a fast and on a slow machine alike."""

    def __init__(self, seconds: float, reserve=lambda: 0.0):
        super().__init__()
        self.seconds, self.reserve = seconds, reserve

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start >= self.seconds - self.reserve():
            self.model.stop_training = True


class KeepBestOnValid(keras.callbacks.Callback):
    """At the end of each chunk, score the validation split with `valid_nll()` (mean nats per token)
    and keep the weights with the lowest in `run/best.weights.h5`; each point goes to
    `run/valid_curve.jsonl`. `restore_best` loads them back after training, so the saved model is the
    best on valid, never a later, overfit one (a longer run then cannot end worse on valid)."""

    def __init__(self, run: RunDir, valid_nll):
        super().__init__()
        self.run, self.valid_nll, self.last_seconds = run, valid_nll, 0.0

    @property
    def best_path(self):
        return self.run.file("best.weights.h5")

    def best(self) -> dict | None:
        path = self.run.file("best.json")
        return self.run.read_json("best.json") if path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        nll = float(self.valid_nll())
        self.last_seconds = time.perf_counter() - started
        point = {"step": _step(self.model), "valid_nll": nll, "valid_perplexity": math.exp(nll),
                 "score_seconds": self.last_seconds}
        with open(self.run.file("valid_curve.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(point) + "\n")
        best = self.best()
        if best is None or nll < best["valid_nll"]:
            self.model.save_weights(str(self.best_path))
            self.run.write_json("best.json", point)

    def restore_best(self) -> dict | None:
        best = self.best()
        if best is not None:
            self.model.load_weights(str(self.best_path))
        return best


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose restore failure (a damaged file, another shape) is one line."""

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except (ValueError, OSError, KeyError) as err:
            raise LmzooError(f"checkpoint '{self.backup_dir}' is damaged or from a different model "
                             f"({type(err).__name__})", "train again with --overwrite to start over") from None


class ProgressLine(keras.callbacks.Callback):
    """One line per epoch (or chunk of steps) on stderr, only when stderr is a terminal.

    Logs and pipes stay quiet; the same numbers are in metrics.jsonl.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stderr

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if not self.stream.isatty():
            return
        shown = " ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items() if "loss" in k)
        epochs = self.params.get("epochs") if self.params else None
        self.stream.write(f"epoch {epoch + 1}{f'/{epochs}' if epochs else ''}  step {_step(self.model)}  "
                          f"{shown}  {time.perf_counter() - self._start:.0f} s\n")
        self.stream.flush()


def training_callbacks(
    run: RunDir, *, checkpoint_every_n_steps: int | str = "epoch", log_every_n_steps: int | None = None,
    tokens_per_step: int = 0, total_steps: int | None = None,
) -> list[keras.callbacks.Callback]:
    """The standard set: a stop on SIGINT/SIGTERM, a resumable backup, divergence guard, metrics.jsonl,
    progress, step budget, and gradient clipping after the cross-replica sum when training is distributed.

    `ResumableBackup` (`keras.callbacks.BackupAndRestore`) restores the weights, the optimizer
    state and the epoch/step counters when `fit` starts again after an interruption, and deletes
    its backup when training finishes; it comes first so that `MetricsLog` sees the restored step.
    `total_steps` stops training after that many steps (`StopAtStep`).
    """
    callbacks = [
        StopOnSignal(),
        ResumableBackup(str(run.checkpoint_dir / "backup"), save_freq=checkpoint_every_n_steps),
        StopOnDivergence(run),
        MetricsLog(run, every_n_steps=log_every_n_steps, tokens_per_step=tokens_per_step),
        ProgressLine(),
        ClipAfterAllReduce(),
    ]
    return callbacks + ([StopAtStep(total_steps)] if total_steps else [])


def fit_steps(
    network: keras.Model, run: RunDir, data: Any, *, steps: int, chunk: int, tokens_per_step: int,
    callbacks: Sequence[keras.callbacks.Callback] = (), log_every_n_steps: int | None = None, **fit_options: Any,
) -> None:
    """`network.fit` on the endless `data` for exactly `steps` optimizer steps, resumably, timed.

    Keras "epochs" are chunks of `chunk` steps, each ending with validation (`fit_options`'
    `validation_data`) and a checkpoint; the last is cut at `steps` (`StopAtStep`), and a resumed
    run trains only the steps it lacks. train_seconds and tokens_seen go to the run's timing.json.
    One loop for every step-counted trainer (window LMs, fine-tuning), so none can overshoot.
    """
    standard = training_callbacks(run, tokens_per_step=tokens_per_step, log_every_n_steps=log_every_n_steps,
                                  total_steps=steps)
    with run.timed() as timing:
        if steps:
            network.fit(data, epochs=math.ceil(steps / chunk), steps_per_epoch=chunk, verbose=0,
                        callbacks=[*standard, *callbacks], **fit_options)
        timing["tokens_seen"] = _step(network) * tokens_per_step
