"""Shared fixtures: the embedded corpus, the shared data directory, a local HTTP server."""

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def lee():
    from lmzoo.datasets import load_corpus

    return load_corpus("lee")


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    """../shared/corpora (or $LMZOO_DATA), skipping the test when it is not there."""
    path = Path(os.environ.get("LMZOO_DATA", SHARED_CORPORA))
    if not (path / "ptb" / "ptb.train.txt").exists():
        pytest.skip(f"benchmark corpora not found at {path} (set LMZOO_DATA)")
    return path


@pytest.fixture
def http_server(tmp_path):
    """Serve `tmp_path/www` on 127.0.0.1; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
