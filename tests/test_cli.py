"""The CLI: the unigram baseline through every verb, and each bad input as one line with exit status 2."""

import json
import subprocess
import sys

import pytest

from lmzoo.cli import main


def lmzoo(*args, cwd=None):
    """Run the real console entry point in a subprocess, as a user would."""
    code = "import sys; from lmzoo.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_unigram_through_every_verb(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["corpora"]) == 0 and "lee" in capsys.readouterr().out
    assert main(["train", "unigram", "--corpus", "lee", "--out", str(run), "--set", "add_k=0.5"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["add_k"] == 0.5
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["family"] == "unigram" and row["bits_per_char"] > 0
    assert json.loads((run / "results.json").read_text()) == row
    assert main(["generate", str(run), "--prompt", "the", "--num-return-sequences", "3", "--max-length", "5",
                 "--sampler", "top_k", "--set", "top_k=10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"[{i}] the") for i, line in enumerate(lines))


def write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", ["empty", "binary", "latin1", "missing", "unknown-corpus", "unknown-family",
                                  "checksum", "unwritable", "bad-set", "not-a-run"])
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    out = tmp_path / "run"
    args = {
        "empty": ["train", "unigram", "--corpus", write(tmp_path / "e.txt", b""), "--out", out],
        "binary": ["train", "unigram", "--corpus", write(tmp_path / "b.bin", b"\x00\xff" * 50), "--out", out],
        "latin1": ["train", "unigram", "--corpus", write(tmp_path / "l.txt", "déjà vu\n".encode("latin-1")), "--out", out],
        "missing": ["train", "unigram", "--corpus", tmp_path / "none.txt", "--out", out],
        "unknown-corpus": ["train", "unigram", "--corpus", "shakespear", "--out", out],
        "unknown-family": ["train", "trigram", "--out", out],
        "checksum": ["--data-dir", tmp_path, "train", "unigram", "--corpus", "tinyshakespeare", "--out", out],
        "unwritable": ["train", "unigram", "--out", write(tmp_path / "f", b"x") / "sub"],
        "bad-set": ["train", "unigram", "--out", out, "--set", "add_k=lots"],
        "not-a-run": ["evaluate", tmp_path],
    }[case]
    expected = {
        "empty": "is empty", "binary": "looks binary", "latin1": "is not UTF-8", "missing": "does not exist",
        "unknown-corpus": "did you mean 'tinyshakespeare'", "unknown-family": "unknown family 'trigram'",
        "checksum": "checksum mismatch", "unwritable": "cannot write to output directory", "bad-set": "must be float",
        "not-a-run": "config.json' is missing",
    }[case]
    if case == "checksum":
        (tmp_path / "tinyshakespeare").mkdir()
        write(tmp_path / "tinyshakespeare" / "input.txt", b"First Citizen: not the real file\n")
    result = lmzoo(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("lmzoo: error:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_export_of_an_unsupported_format(tmp_path, capsys):
    main(["train", "unigram", "--out", str(tmp_path / "run")])
    assert main(["export", str(tmp_path / "run"), "--format", "arpa", "--out", str(tmp_path / "x")]) == 2
    assert "cannot export format 'arpa'" in capsys.readouterr().err
