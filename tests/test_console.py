"""A quiet console and progress lines for long work."""

import io
import os
import subprocess
import sys

from lmzoo.console import STARTUP_NOISE, Progress

# The lines a CPU user saw between compare's progress lines before the CLI quietened TensorFlow.
SEEN_BY_USERS = ("oneDNN custom operations are on", "Could not find cuda drivers", "failed call to cuInit",
                 "oneDNN supports DT_BOOL only on platforms with AVX-512")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_prints_elapsed_time_and_time_left(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    plain = io.StringIO()
    progress = Progress(["a", "b", "c"], stream=plain)
    progress.done("a", "ok", seconds=3.0)
    line = plain.getvalue().splitlines()[-1]
    assert line.startswith("[1/3] a") and "elapsed" in line and "about 0:06 left" in line and "#" not in line
    progress.done("b", "ok", seconds=1.0)
    assert "about 0:02 left" in plain.getvalue().splitlines()[-1]  # the mean of the finished ones
    terminal = _Terminal()
    Progress(["a", "b"], stream=terminal).done("a", "ok", seconds=1.0)
    assert terminal.getvalue().startswith("[##########..........] [1/2] a")
    monkeypatch.setenv("CI", "true")
    ci = _Terminal()
    Progress(["a", "b"], stream=ci).done("a", "ok", seconds=1.0)
    assert ci.getvalue().startswith("[1/2] a")


def test_time_left_follows_the_last_run_of_the_same_entries():
    out = io.StringIO()
    progress = Progress(["fast", "slow"], expected={"fast": 1.0, "slow": 100.0}, stream=out)
    progress.done("fast", "ok", seconds=2.0)  # twice as slow as last time
    assert "about 3:20 left" in out.getvalue()
    progress.skip("slow", "already done (--resume)")
    assert progress.left() != progress.left()  # nothing left to estimate (NaN)


def test_cli_hides_tensorflows_startup_lines(tmp_path):
    """A real CLI verb that imports TensorFlow, in a subprocess, without the Makefile's TF_CPP_MIN_LOG_LEVEL."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    plain = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.config.list_physical_devices()"],
                           capture_output=True, text=True, env=env, timeout=600)
    assert any(noise in plain.stderr for noise in STARTUP_NOISE)  # the lines are there to hide on this machine
    code = "import sys; from lmzoo.cli import main; sys.exit(main(sys.argv[1:]))"
    # compare seeds Keras, so TensorFlow is imported even for the unigram
    quiet = subprocess.run([sys.executable, "-c", code, "compare", "--quick", "--families", "unigram", "--out",
                            str(tmp_path / "c")], capture_output=True, text=True, env=env, timeout=600)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert not [line for line in quiet.stderr.splitlines() if any(s in line for s in SEEN_BY_USERS)], quiet.stderr


def test_verbose_brings_them_back(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    script = ("import sys\nfrom lmzoo.cli import main\n"
              f"main(sys.argv[1:] + ['report', {str(tmp_path / 'missing')!r}])  # a verb that fails at once\n"
              "import tensorflow as tf\ntf.config.list_physical_devices()\n")
    verbose = subprocess.run([sys.executable, "-c", script, "--verbose"], capture_output=True, text=True, env=env,
                             timeout=600)
    assert any(noise in verbose.stderr for noise in STARTUP_NOISE), verbose.stderr[-2000:]
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert "is not a directory" in quiet.stderr  # the zoo's own lines still show
    assert not any(noise in quiet.stderr for noise in STARTUP_NOISE), quiet.stderr[-2000:]
