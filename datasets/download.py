"""Find corpus files in the data directory, or download them: sha256-verified, atomic, with progress."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from lmzoo.datasets.catalog import POEMS_JSON, CorpusFile
from lmzoo.errors import LmzooError

DATA_ENV = "LMZOO_DATA"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: `--data-dir`, else `$LMZOO_DATA`, else the per-user cache."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lmzoo"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# A converted file's sha256 is that of the converted text: its JSON sources have markup around the text.
_CONVERTED_SIZE_RATIO = 8


def poems_json_to_lines(raw: bytes, source: str = "the download") -> str:
    """chinese-poetry JSON (a list of poems with `paragraphs`) to one poem per line.

    The catalog's sha256 is that of the converted text, so bytes that are not such JSON (an HTML
    error page, say) cannot match it: they are refused as a checksum failure, in one line.

    Example:
        >>> poems_json_to_lines('[{"paragraphs": ["床前明月光，", "疑是地上霜。"]}]'.encode())
        '床前明月光，疑是地上霜。\\n'
        >>> poems_json_to_lines(b"<html>rate limited</html>", "x.json")
        Traceback (most recent call last):
        ...
        lmzoo.errors.LmzooError: checksum mismatch for x.json: it is not chinese-poetry JSON (...); ...
    """
    try:
        poems = json.loads(raw.decode("utf-8"))
        return "".join("".join(poem["paragraphs"]) + "\n" for poem in poems)
    except (ValueError, KeyError, TypeError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise LmzooError(f"checksum mismatch for {source}: it is not chinese-poetry JSON ({type(err).__name__})",
                         "the server sent different bytes; nothing was written; try again or fetch the file by hand",
                         ) from None


def _progress(done: int, total: int | None, label: str) -> None:
    if not sys.stderr.isatty() and done and total and done < total:
        return  # in logs, print only the first and last line
    if total:
        bar = "#" * int(30 * done / total)
        sys.stderr.write(f"\r{label} [{bar:<30}] {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\r{label} {done / 1e6:.1f} MB")
    if total and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _too_big(url: str, limit: int) -> LmzooError:
    return LmzooError(f"{url} sends more than the {limit:,} bytes the catalog expects",
                      "the server sent a different file; nothing was written; fetch the file by hand")


def _fetch_bytes(url: str, label: str, timeout: float, limit: int) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) only, from the catalog)
        total = int(response.headers.get("Content-Length") or 0) or None
        if total and total > limit:
            raise _too_big(url, limit)
        chunks, done = [], 0
        _progress(0, total, label)
        while block := response.read(1 << 16):
            chunks.append(block)
            done += len(block)
            if done > limit:  # a server that sends no length (or lies) cannot fill the disk
                raise _too_big(url, limit)
            _progress(done, total, label)
        if not total:
            sys.stderr.write("\n")
        return b"".join(chunks)


def download(file: CorpusFile, dest: Path, timeout: float = 30.0) -> Path:
    """Download `file` to `dest`, verify its sha256 and only then move it into place.

    A partial or corrupt download never appears under the final name, and nothing else is left
    behind. The body is capped by the catalog's size (times a margin for converted files).
    """
    parts = []
    limit = file.size * (_CONVERTED_SIZE_RATIO if file.convert else 1)
    for url in file.urls:
        try:
            parts.append(_fetch_bytes(url, f"downloading {dest.name}", timeout, limit))
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as err:
            reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
            raise LmzooError(
                f"'{dest}' is missing and could not be downloaded from {url} ({reason})",
                f"download it by hand and put it at {dest}, or point --data-dir / {DATA_ENV} at a folder that has it",
            ) from None
    if file.convert == POEMS_JSON:
        data = "".join(poems_json_to_lines(p, url) for p, url in zip(parts, file.urls, strict=True)).encode()
    else:
        data = b"".join(parts)
    got = hashlib.sha256(data).hexdigest()
    if got != file.sha256:
        raise LmzooError(
            f"checksum mismatch for {file.urls[0]}: sha256 {got[:16]}..., expected {file.sha256[:16]}...",
            "the server sent different bytes; nothing was written; try again or fetch the file by hand",
        )
    tmp = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except OSError as err:
        raise LmzooError(f"cannot write '{dest}' ({err.strerror})", f"make the data directory writable or set {DATA_ENV}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):  # a failed write or move leaves no .part file
            os.unlink(tmp)
    return dest


def ensure_file(file: CorpusFile, directory: Path, allow_download: bool = True) -> Path:
    """Path to a verified local copy of `file`, downloading it when it is missing."""
    path = directory / file.path
    if path.exists():
        try:
            got = sha256_of(path)
        except OSError as err:
            raise LmzooError(f"cannot read '{path}' ({err.strerror or err})", "check its permissions") from None
        if got != file.sha256:
            raise LmzooError(
                f"checksum mismatch for '{path}': sha256 {got[:16]}..., expected {file.sha256[:16]}...",
                "the file is corrupt or a different version; delete it to download it again",
            )
        return path
    if not allow_download:
        raise LmzooError(
            f"'{path}' is missing",
            f"download {file.urls[0]} and put it there, or point --data-dir / {DATA_ENV} at a folder that has it",
        )
    return download(file, path)
