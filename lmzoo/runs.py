"""A run directory: everything needed to evaluate, resume or reload a training run.

    RUN_DIR/
      config.json       family, config, corpus (name, resolved path, sha256), seed, library versions
      fingerprint.json  family + config + corpus of the training that owns the checkpoint (see `begin`)
      tokenizer.json    the tokenizer (plain JSON)
      metrics.jsonl     one JSON object per logged step or epoch
      timing.json       train_seconds, tokens_seen, tokens_per_second
      checkpoints/      the latest resumable state (family-specific files)
      results.json      the last evaluation
      .lock             held (flock) by the process training into the directory; holds its pid
      ...               the weights, in the family's own format (.keras, .npz, ARPA)
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from lmzoo.errors import LmzooError


def library_versions() -> dict[str, str]:
    """Versions of the libraries that decide a run's numbers (recorded for reproducibility)."""
    out = {"python": platform.python_version()}
    for dist in ("keras-lmzoo", "numpy", "tensorflow", "keras", "keras-nlp", "keras-hub", "gensim"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a file so that a reader (or a crash) sees the old content or the new, never half of it."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write `data` as indented JSON, atomically (see `write_text_atomic`)."""
    write_text_atomic(Path(path), json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def plain_json(data: Any) -> Any:
    """`data` as it reads back from JSON (tuples become lists), so a stored and a fresh value compare equal."""
    return json.loads(json.dumps(data, default=str))


class Interrupted(KeyboardInterrupt):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM; the run keeps its last checkpoint and resumes.

    A KeyboardInterrupt, so that no `except Exception` (compare's per-entry guard) swallows it.
    `exit_code` is the shell's: 128 + the signal number (130, 143).
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


class _Signals:
    """What `stop_on_signals` shares with the training loops that poll it (`check_interrupted`)."""

    pending: list[int] = []  # signals received and not yet acted on
    polling = False  # True while a Keras `fit` polls after every compiled call (`StopOnSignal`)


def set_polling(on: bool) -> None:
    """Say whether a training loop polls `check_interrupted` often (the signal handler then only records)."""
    _Signals.polling = on


def check_interrupted() -> None:
    """Raise `Interrupted` if SIGINT or SIGTERM arrived since `stop_on_signals` began."""
    if _Signals.pending:
        _Signals.polling = False
        raise Interrupted(_Signals.pending[0])


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM stop training at the next safe point.

    Why not Python's KeyboardInterrupt: TensorFlow's C++ op execution checks for signals itself
    (`PyErr_CheckSignals` inside `TFE_Py_Execute`) and drops the exception the handler raises there,
    so a Ctrl-C that lands inside a compiled training step is lost and training goes on. Here
    the handler records the signal; inside `fit` a callback polls the record after every compiled
    call and raises `Interrupted` (the last checkpoint stays), and anywhere else, or at a second
    signal, the handler raises `Interrupted` itself. Main thread only (Python's rule for handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        _Signals.pending.append(signum)
        if not _Signals.polling or len(_Signals.pending) > 1:
            check_interrupted()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _Signals.pending.clear()
        _Signals.polling = False


def fingerprint(family_name: str, config: dict, data: Any, **more: Any) -> dict:
    """What a resumed run must share with the run that wrote its checkpoint: family, config, data (and `more`).

    `data` is a text corpus or task data (anything with a `fingerprint()` of its provenance and content).
    """
    return plain_json({"family": family_name, "config": config, "corpus": data.fingerprint(), **more})


# What a training run leaves that describes *that* run; `begin(overwrite=True)` removes it.
_RUN_STATE = ("COMPLETE", "config.json", "fingerprint.json", "metrics.jsonl", "timing.json", "results.json",
              "best.json", "best.weights.h5", "valid_curve.jsonl")


class RunDir:
    """Paths and small JSON helpers for one run directory.

    Example:
        >>> import tempfile
        >>> run = RunDir(tempfile.mkdtemp())
        >>> run.log_metrics({"step": 1, "loss": 2.5})
        >>> run.read_metrics()[0]["loss"]
        2.5
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock: Any = None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test.{os.getpid()}"  # per process: two may probe at once
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise LmzooError(
                f"cannot write to output directory '{self.path}' ({err.strerror})",
                "choose a directory you can write to with --out",
            ) from None

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoint_dir(self) -> Path:
        path = self.path / "checkpoints"
        path.mkdir(exist_ok=True)
        return path

    @property
    def tokenizer_path(self) -> Path:
        return self.path / "tokenizer.json"

    def has_checkpoint(self) -> bool:
        """True when `checkpoints/` holds a resumable state (a training run was interrupted)."""
        path = self.path / "checkpoints"
        return path.is_dir() and any(p.is_file() for p in path.rglob("*"))

    # Claiming the directory for a training run
    def lock(self) -> None:
        """Hold this directory for as long as this RunDir lives: another run into it is refused at once.

        An exclusive `flock` on `.lock` (released by the OS when the process ends, however it ends);
        the file names the holder's pid for the refusal. Taking it again on the same RunDir is a no-op.
        """
        if self._lock is not None:
            return
        handle = open(self.path / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 (held past this call)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LmzooError(f"'{self.path}' is in use by another lmzoo run (pid {holder})",
                             "wait for it to finish, or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        """Release the lock taken by `lock` (or `begin`), if this RunDir holds it."""
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None

    @contextmanager
    def locked(self) -> Iterator[RunDir]:
        """Hold the lock for the block and release it after, also when the block fails.

        Example:
            >>> import tempfile
            >>> with RunDir(tempfile.mkdtemp()).locked() as run:
            ...     RunDir(run.path).lock()
            Traceback (most recent call last):
            ...
            lmzoo.errors.LmzooError: '...' is in use by another lmzoo run (pid ...); wait for it to finish, ...
        """
        taken = self._lock is None  # a nested block leaves the lock to the block that took it
        self.lock()
        try:
            yield self
        finally:
            if taken:
                self.unlock()

    @contextmanager
    def training(self, family: str, config: dict, data: Any, *, overwrite: bool = False,
                 identity: dict | None = None, **extra: Any) -> Iterator[RunDir]:
        """One training run's life in this directory, the same for `lmzoo.train` and `lmzoo finetune`.

        Holds the lock for the block (`locked`), checks and claims the directory first (`begin`,
        with the fingerprint of family + config + `data` + `identity`; `extra` goes to config.json),
        and after a block that finished writes MODEL_CARD.md. The trainer inside saves the model
        and marks COMPLETE (only it knows the model was saved: a non-chief worker saves nothing and
        gets no card); its fit loop (`lmzoo.models.callbacks.fit_steps`) times it and stops at the
        exact step count.

        Example:
            >>> import tempfile
            >>> class Text:
            ...     def fingerprint(self): return {"sha256": "0"}
            >>> with RunDir(tempfile.mkdtemp()).training("unigram", {"add_k": 1.0}, Text()) as run:
            ...     run.mark_complete()
            >>> run.file("MODEL_CARD.md").exists()
            True
        """
        with self.locked():
            self.begin(family, config, fingerprint(family, config, data, **(identity or {})), overwrite=overwrite,
                       **extra)
            yield self
            from lmzoo.model_card import (
                write_model_card,  # here: lmzoo.model_card imports this module
            )

            write_model_card(self, data)

    def begin(self, family: str, config: dict, fingerprint: dict, *, overwrite: bool = False, **extra: Any) -> bool:
        """Check, then claim this directory for training; True when it resumes an unfinished run.

        First it takes the directory's lock (`lock`) for the whole run: a second process training
        into it is refused at once. Nothing is written until the checks pass. Without `overwrite`
        it refuses, with one line, a finished run (of any family), and a checkpoint left by another family or by a run whose
        fingerprint (family + config + corpus, in `fingerprint.json`) differs from this one:
        resuming it would restore weights trained on other settings. An unfinished run with no
        checkpoint has nothing to resume and starts over. With `overwrite` the previous run's
        state and checkpoint are removed first. `COMPLETE` is cleared in every case.

        Example:
            >>> import tempfile
            >>> run = RunDir(tempfile.mkdtemp())
            >>> run.begin("unigram", {"add_k": 1.0}, {"family": "unigram", "config": {"add_k": 1.0}})
            False
            >>> run.mark_complete()
            >>> run.begin("ngram", {}, {"family": "ngram"})
            Traceback (most recent call last):
            ...
            lmzoo.errors.LmzooError: '...' already holds a finished unigram run; ...
        """
        self.lock()
        if overwrite or not (self.is_complete() or self.has_checkpoint()):
            self.reset()
        else:
            self._check_resumable(family, plain_json(fingerprint))
        self.write_config(family, config, **extra)
        self.write_json("fingerprint.json", fingerprint)
        return self.has_checkpoint()

    def _check_resumable(self, family: str, fingerprint: dict) -> None:
        start_over = "or pass --overwrite (lmzoo.train(..., overwrite=True)) to start over"
        if not self.is_complete() and not self.file("config.json").exists():
            return  # a checkpoint that no run claims: the family's restore checks its shapes
        try:
            old_family = json.loads(self.file("config.json").read_text(encoding="utf-8"))["family"]
        except (OSError, ValueError, KeyError, TypeError):
            old_family = "unknown"
        if self.is_complete():
            raise LmzooError(f"'{self.path}' already holds a finished {old_family} run",
                             f"evaluate it, train into another --out, {start_over}")
        if old_family != family:
            raise LmzooError(f"'{self.path}' holds an unfinished {old_family} run, not {family}",
                             f"train into another --out, {start_over}")
        try:
            stored = json.loads(self.file("fingerprint.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if stored != fingerprint:
            changed = sorted(_differences(stored, fingerprint)) if isinstance(stored, dict) else ["fingerprint.json"]
            raise LmzooError(f"'{self.path}' holds an unfinished {family} run trained with other settings "
                             f"(differs in: {', '.join(changed)})",
                             f"resume it with the same config and corpus, {start_over}")

    def reset(self) -> None:
        """Remove the state of a previous run (config, fingerprint, metrics, timing, checkpoint, COMPLETE)."""
        for name in _RUN_STATE:
            self.file(name).unlink(missing_ok=True)
        shutil.rmtree(self.path / "checkpoints", ignore_errors=True)

    # JSON files
    def write_json(self, name: str, data: Any) -> None:
        write_json_atomic(self.file(name), data)

    def read_json(self, name: str) -> Any:
        path = self.file(name)
        if not path.exists():
            raise LmzooError(f"'{path}' is missing", "is this a finished run directory? train one with `lmzoo train`")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise LmzooError(f"'{path}' is not valid JSON ({err})", "retrain the run") from None

    def write_config(self, family: str, config: dict, **extra: Any) -> None:
        """Write config.json; a new config means the run is not finished, so `COMPLETE` goes first."""
        self.file("COMPLETE").unlink(missing_ok=True)
        self.write_json("config.json", {"family": family, "config": config, **extra, "versions": library_versions()})

    def read_config(self) -> dict:
        return self.read_json("config.json")

    def is_complete(self) -> bool:
        """True once training finished and the model was saved (`mark_complete`)."""
        return self.file("COMPLETE").exists()

    def mark_complete(self) -> None:
        self.file("COMPLETE").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))

    # metrics.jsonl
    def log_metrics(self, record: dict) -> None:
        with open(self.file("metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=float) + "\n")

    def read_metrics(self) -> list[dict]:
        """The records of metrics.jsonl; a line that is not JSON (half-written by a kill) is skipped with a warning.

        Example:
            >>> import tempfile
            >>> run = RunDir(tempfile.mkdtemp())
            >>> _ = run.file("metrics.jsonl").write_text('{"step": 1}\\n{"step": 2, "lo')
            >>> import warnings
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore")
            ...     run.read_metrics()
            [{'step': 1}]
        """
        path = self.file("metrics.jsonl")
        if not path.exists():
            return []
        records, bad = [], 0
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict):
                records.append(record)
            else:
                bad += 1
        if bad:
            warnings.warn(f"'{path}': skipped {bad} line(s) that are not JSON records (half-written by an "
                          "interrupted run?)", stacklevel=2)
        return records

    def write_metrics(self, records: list[dict]) -> None:
        """Replace metrics.jsonl with `records` (atomically)."""
        write_text_atomic(self.file("metrics.jsonl"), "".join(json.dumps(r, default=float) + "\n" for r in records))

    # timing
    @contextmanager
    def timed(self, tokens_per_pass: int = 0, passes: float = 1.0) -> Iterator[dict]:
        """Time the block and record train_seconds and tokens/s in timing.json.

        timing.json and metrics.jsonl describe this run only: a run that resumes from a checkpoint
        adds to the seconds already recorded, and a run with nothing to resume starts both afresh.
        The time is written even when the block fails or is interrupted (with `"interrupted": true`).
        The block may update `info["tokens_seen"]` when it knows better than `tokens_per_pass * passes`.

        Example:
            >>> import tempfile
            >>> run = RunDir(tempfile.mkdtemp())
            >>> with run.timed(tokens_per_pass=100) as info:
            ...     pass
            >>> run.timing()["tokens_seen"]
            100
        """
        if self.has_checkpoint():
            previous = self.timing().get("train_seconds", 0.0)
        else:
            previous = 0.0
            for name in ("timing.json", "metrics.jsonl"):
                self.file(name).unlink(missing_ok=True)
        info = {"tokens_seen": int(tokens_per_pass * passes)}
        start = time.perf_counter()
        finished = False
        try:
            yield info
            finished = True
        finally:
            seconds = previous + time.perf_counter() - start
            tokens = info["tokens_seen"]
            record = {"train_seconds": seconds, "tokens_seen": tokens,
                      "tokens_per_second": tokens / seconds if seconds else 0.0}
            self.write_json("timing.json", record if finished else {**record, "interrupted": True})

    def timing(self) -> dict:
        path = self.file("timing.json")
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError):
            return {}


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out
