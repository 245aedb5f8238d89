"""What the console shows: TensorFlow's start-up lines kept out, and progress for long work.

TensorFlow 2.16+ writes its start-up lines ("oneDNN custom operations are on", "Could not find
cuda drivers", "failed call to cuInit", ...) through absl *before* its log level is read, so
`TF_CPP_MIN_LOG_LEVEL` alone does not hide them. `quiet_tensorflow` sets the level and hooks the
first import of TensorFlow: the import, the device start-up and one boolean op (oneDNN's one-time
"DT_BOOL" notice) run with file descriptor 2 captured, and every captured line that is not one of
the known start-up lines is written back, so a real error still shows.

`Progress` prints one line per finished item of a long job with the elapsed time and an
estimate of the time left (a bar on a terminal, plain lines when stdout is not one or CI=true).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Lines TensorFlow prints on every start on a CPU machine; nothing the user can or should act on.
STARTUP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "oneDNN supports DT_BOOL only on platforms with AVX-512",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
)


@contextmanager
def _startup_lines_hidden() -> Iterator[None]:
    """Capture file descriptor 2 in the block, then write back the lines that are not STARTUP_NOISE."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not any(noise in line for noise in STARTUP_NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once and runs its import (and device start-up) with the start-up lines hidden."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec_module(module: Any) -> None:
            with _startup_lines_hidden():
                exec_module(module)
                module.config.list_physical_devices()  # device start-up (cuInit) logs here
                module.transpose(module.constant([[True]]))  # oneDNN's one-time DT_BOOL notice: the first bool op

        spec.loader.exec_module = quiet_exec_module
        return spec


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hide TensorFlow's start-up lines whenever it is first imported; `verbose` shows everything.

    Nothing is imported here: a verb that never needs TensorFlow stays fast. A
    `TF_CPP_MIN_LOG_LEVEL` already set is kept.
    """
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h{seconds // 60 % 60:02d}"


class Progress:
    """One line per finished item: `[3/10] name  done in 4.2 s · 0:12 elapsed · about 0:40 left`.

    The time left is the mean time of the finished items times the items left, or, where a
    previous run of the same items recorded their seconds (`expected`), the sum of those for the
    items left, scaled by how fast this run has been on the items both runs share.

    Example:
        >>> p = Progress(["a", "b"], stream=sys.stdout, bar=False)
        >>> p.done("a", "ok", seconds=2.0)  # doctest: +ELLIPSIS
        [1/2] a                done in 2.0 s: ok · ... elapsed · about 0:02 left
    """

    def __init__(self, names: Sequence[str], *, expected: dict[str, float] | None = None,
                 stream=None, bar: bool | None = None):
        self.names, self.expected = list(names), dict(expected or {})
        self.stream = stream or sys.stdout
        if bar is None:
            bar = bool(getattr(self.stream, "isatty", lambda: False)()) and os.environ.get("CI", "").lower() not in (
                "1", "true", "yes")
        self.bar, self.started, self.seconds, self.skipped = bar, time.perf_counter(), {}, set()

    def prefix(self, name: str) -> str:
        return f"[{self.names.index(name) + 1}/{len(self.names)}] {name:<16}"

    def left(self) -> float:
        """Estimated seconds for the items not finished yet."""
        todo = [n for n in self.names if n not in self.seconds and n not in self.skipped]
        if not todo or not self.seconds:
            return float("nan")
        shared = [n for n in self.seconds if self.expected.get(n)]
        if all(self.expected.get(n) for n in todo) and shared:
            pace = sum(self.seconds[n] for n in shared) / sum(self.expected[n] for n in shared)
            return pace * sum(self.expected[n] for n in todo)
        return sum(self.seconds.values()) / len(self.seconds) * len(todo)

    def done(self, name: str, message: str, seconds: float) -> None:
        """Record that `name` finished in `seconds` and print its line."""
        self.seconds[name] = seconds
        elapsed = time.perf_counter() - self.started
        left = self.left()
        eta = "finished" if left != left else f"about {_clock(left)} left"  # NaN: nothing left to estimate
        line = f"{self.prefix(name)} done in {seconds:.1f} s: {message} · {_clock(elapsed)} elapsed · {eta}"
        if self.bar:
            filled = round(20 * (len(self.seconds) + len(self.skipped)) / len(self.names))
            line = f"[{'#' * filled}{'.' * (20 - filled)}] " + line
        print(line, file=self.stream, flush=True)

    def skip(self, name: str, message: str) -> None:
        """`name` needs no work (already done): said, and left out of the estimate."""
        self.skipped.add(name)
        self.say(name, message)

    def say(self, name: str, message: str) -> None:
        """A line about `name` that is not its end (starting, skipped, failed)."""
        print(f"{self.prefix(name)} {message}", file=self.stream, flush=True)


__all__ = ["STARTUP_NOISE", "Progress", "quiet_tensorflow"]
