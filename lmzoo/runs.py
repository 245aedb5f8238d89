"""A run directory: everything needed to evaluate, resume or reload a training run.

    RUN_DIR/
      config.json       family, config, corpus, seed, library versions
      tokenizer.json    the tokenizer (plain JSON)
      metrics.jsonl     one JSON object per logged step or epoch
      timing.json       train_seconds, tokens_seen, tokens_per_second
      checkpoints/      the latest resumable state (family-specific files)
      results.json      the last evaluation
      ...               the weights, in the family's own format (.keras, .npz, ARPA)
"""

from __future__ import annotations

import json
import os
import platform
import time
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


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
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

    # JSON files
    def write_json(self, name: str, data: Any) -> None:
        _atomic_write(self.file(name), json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.file(name)
        if not path.exists():
            raise LmzooError(f"'{path}' is missing", "is this a finished run directory? train one with `lmzoo train`")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise LmzooError(f"'{path}' is not valid JSON ({err})", "retrain the run") from None

    def write_config(self, family: str, config: dict, **extra: Any) -> None:
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
        path = self.file("metrics.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    # timing
    @contextmanager
    def timed(self, tokens_per_pass: int = 0, passes: float = 1.0) -> Iterator[dict]:
        """Time the block and record train_seconds and tokens/s in timing.json.

        A resumed run adds to the seconds already recorded. The block may update
        `info["tokens_seen"]` when it knows better than `tokens_per_pass * passes`.
        """
        previous = self.timing().get("train_seconds", 0.0)
        info = {"tokens_seen": int(tokens_per_pass * passes)}
        start = time.perf_counter()
        yield info
        seconds = previous + time.perf_counter() - start
        tokens = info["tokens_seen"]
        self.write_json(
            "timing.json",
            {"train_seconds": seconds, "tokens_seen": tokens, "tokens_per_second": tokens / seconds if seconds else 0.0},
        )

    def timing(self) -> dict:
        path = self.file("timing.json")
        return json.loads(path.read_text()) if path.exists() else {}
