"""The CLI: the unigram baseline through every verb, and each bad input as one line with exit status 2."""

import json
import shutil
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


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished unigram run, a finished n-gram run, and damaged copies: the material of bad inputs."""
    root = tmp_path_factory.mktemp("cli")
    assert main(["train", "unigram", "--out", str(root / "unigram")]) == 0
    assert main(["train", "ngram", "--out", str(root / "ngram"), "--set", "order=2"]) == 0
    for name, damage in [("unfinished", "COMPLETE"), ("noweights", "unigram.npz")]:
        shutil.copytree(root / "unigram", root / name)
        (root / name / damage).unlink()
    (root / "unfinished" / "checkpoints").mkdir(exist_ok=True)
    (root / "unfinished" / "checkpoints" / "state").write_text("interrupted")  # something to resume
    shutil.copytree(root / "unigram", root / "badjson")
    (root / "badjson" / "config.json").write_text('{"family": "unig')
    shutil.copytree(root / "unigram", root / "nofamily")
    (root / "nofamily" / "config.json").write_text('{"config": {}}')
    return root


# (arguments, what the one line must say); {tmp} is a fresh folder, {runs} the fixture's, {file} a plain file.
BAD_INPUTS = {
    # train
    "train-empty-file": (["train", "unigram", "--corpus", "{tmp}/empty.txt", "--out", "{tmp}/r"], "is empty"),
    "train-binary-file": (["train", "unigram", "--corpus", "{tmp}/b.bin", "--out", "{tmp}/r"], "looks binary"),
    "train-latin1-file": (["train", "unigram", "--corpus", "{tmp}/l.txt", "--out", "{tmp}/r"], "is not UTF-8"),
    "train-missing-file": (["train", "unigram", "--corpus", "{tmp}/none.txt", "--out", "{tmp}/r"], "does not exist"),
    "train-too-short": (["train", "unigram", "--corpus", "{tmp}/short.txt", "--out", "{tmp}/r"], "too short to split"),
    "train-empty-folder": (["train", "unigram", "--corpus", "{tmp}", "--out", "{tmp}/r"], "has no .txt files"),
    "train-unknown-corpus": (["train", "unigram", "--corpus", "shakespear", "--out", "{tmp}/r"],
                             "did you mean 'tinyshakespeare'"),
    "train-unknown-family": (["train", "trigram", "--out", "{tmp}/r"], "unknown family 'trigram'"),
    "train-unwritable-out": (["train", "unigram", "--out", "{file}/sub"], "cannot write to output directory"),
    "train-set-type": (["train", "unigram", "--out", "{tmp}/r", "--set", "add_k=lots"], "must be float"),
    "train-set-unknown-key": (["train", "unigram", "--out", "{tmp}/r", "--set", "add_kk=1"], "did you mean 'add_k'"),
    "train-set-not-key-value": (["train", "unigram", "--out", "{tmp}/r", "--set", "add_k"], "is not key=value"),
    "train-set-literal": (["train", "unigram", "--out", "{tmp}/r", "--set", "tokenizer=bpe"], "use one of"),
    "train-set-range": (["train", "unigram", "--out", "{tmp}/r", "--set", "add_k=-1"], "must be >= 0"),
    "train-set-bool": (["train", "seq2seq", "--out", "{tmp}/r", "--set", "attention=maybe"], "must be bool"),
    "train-unknown-preset": (["train", "unigram", "--out", "{tmp}/r", "--preset", "huge"], "unknown preset 'huge'"),
    "train-seed-not-int": (["train", "unigram", "--out", "{tmp}/r", "--seed", "abc"], "invalid int value: 'abc'"),
    "train-no-out": (["train", "unigram"], "the following arguments are required: --out"),
    "train-finished-run": (["train", "unigram", "--out", "{runs}/unigram"], "already holds a finished unigram run"),
    "train-other-family": (["train", "ngram", "--out", "{runs}/unfinished"], "holds an unfinished unigram run"),
    "train-other-config": (["train", "unigram", "--out", "{runs}/unfinished", "--set", "add_k=2"],
                           "differs in: config.add_k"),
    # evaluate
    "evaluate-not-a-run": (["evaluate", "{tmp}"], "config.json' is missing"),
    "evaluate-no-such-dir": (["evaluate", "{tmp}/nothing"], "does not exist"),
    "evaluate-unfinished": (["evaluate", "{runs}/unfinished"], "did not finish training"),
    "evaluate-no-weights": (["evaluate", "{runs}/noweights"], "unigram.npz"),
    "evaluate-bad-config-json": (["evaluate", "{runs}/badjson"], "is not valid JSON"),
    "evaluate-config-no-family": (["evaluate", "{runs}/nofamily"], "does not name a family"),
    "evaluate-unknown-corpus": (["evaluate", "{runs}/unigram", "--corpus", "ptbb"], "did you mean 'ptb'"),
    "evaluate-bad-split": (["evaluate", "{runs}/unigram", "--split", "dev"], "invalid choice: 'dev'"),
    # generate
    "generate-unknown-sampler": (["generate", "{runs}/unigram", "--sampler", "nucleus"], "unknown sampler 'nucleus'"),
    "generate-option-name": (["generate", "{runs}/unigram", "--set", "topk=5"], "did you mean 'top_k'"),
    "generate-option-type": (["generate", "{runs}/unigram", "--set", "temperature=hot"], "must be a number"),
    "generate-top-p-type": (["generate", "{runs}/unigram", "--sampler", "top_p", "--set", "top_p=abc"],
                            "top_p='abc' must be a number"),
    "generate-top-p-range": (["generate", "{runs}/unigram", "--sampler", "top_p", "--set", "top_p=1.5"],
                             "must be in (0, 1]"),
    "generate-negative-length": (["generate", "{runs}/unigram", "--max-length", "-1"], "must be an integer >= 0"),
    "generate-zero-sequences": (["generate", "{runs}/unigram", "--num-return-sequences", "0"],
                                "num_return_sequences=0"),
    "generate-length-not-int": (["generate", "{runs}/unigram", "--max-length", "ten"], "invalid int value"),
    "generate-beam-too-narrow": (["generate", "{runs}/unigram", "--sampler", "beam", "--num-return-sequences", "3",
                                  "--set", "num_beams=2"], "exceeds num_beams=2"),
    "generate-no-run": (["generate", "{tmp}/nothing"], "does not exist"),
    # export
    "export-unsupported-format": (["export", "{runs}/unigram", "--format", "arpa", "--out", "{tmp}/x"],
                                  "cannot export format 'arpa'"),
    "export-unknown-format": (["export", "{runs}/ngram", "--format", "kenlm", "--out", "{tmp}/x"],
                              "cannot export format 'kenlm'"),
    "export-unwritable": (["export", "{runs}/ngram", "--format", "arpa", "--out", "{file}/x.arpa"], "cannot write"),
    "export-no-format": (["export", "{runs}/ngram", "--out", "{tmp}/x"], "required: --format"),
    "export-not-a-run": (["export", "{tmp}", "--format", "arpa", "--out", "{tmp}/x"], "config.json' is missing"),
    # compare
    "compare-unknown-family": (["compare", "--families", "unigram,trigram", "--out", "{tmp}/c"],
                               "unknown family 'trigram'"),
    "compare-unknown-corpus": (["compare", "--corpus", "leee", "--out", "{tmp}/c"], "did you mean 'lee'"),
    "compare-budget-not-number": (["compare", "--budget", "lots", "--out", "{tmp}/c"], "invalid float value"),
    "compare-budget-negative": (["compare", "--budget", "-1", "--out", "{tmp}/c"], "must be a number > 0"),
    # the command itself
    "unknown-verb": (["fit", "unigram"], "invalid choice: 'fit'"),
    "corpora-extra-argument": (["corpora", "lee"], "unrecognized arguments: lee"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2(case, runs, tmp_path, capsys):
    args, expected = BAD_INPUTS[case]
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "b.bin", b"\x00\xff" * 50)
    write(tmp_path / "l.txt", "déjà vu\n".encode("latin-1") * 20)
    write(tmp_path / "short.txt", b"too short\n")
    plain = write(tmp_path / "f", b"x")
    args = [a.format(tmp=tmp_path / "t", runs=runs, file=plain) for a in args]
    (tmp_path / "t").mkdir()
    for name in ("empty.txt", "b.bin", "l.txt", "short.txt"):
        shutil.copy(tmp_path / name, tmp_path / "t" / name)
    if case == "train-empty-folder":
        args[args.index("--corpus") + 1] = str(tmp_path / "t" / "r0")
        (tmp_path / "t" / "r0").mkdir()
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmzoo: error:") and expected in lines[0], err


def test_distinct_bad_inputs_cover_every_verb():
    verbs = {args[0] for args, _ in BAD_INPUTS.values()}
    assert {"train", "evaluate", "generate", "export", "compare", "corpora"} <= verbs and len(BAD_INPUTS) >= 30


@pytest.mark.parametrize("case", ["latin1", "checksum", "bad-set"])
def test_the_console_command_prints_no_traceback(tmp_path, case):
    """The real entry point in a subprocess, as a user runs it."""
    out = tmp_path / "run"
    args = {
        "latin1": ["train", "unigram", "--corpus", write(tmp_path / "l.txt", "déjà vu\n".encode("latin-1")), "--out", out],
        "checksum": ["--data-dir", tmp_path, "train", "unigram", "--corpus", "tinyshakespeare", "--out", out],
        "bad-set": ["train", "unigram", "--out", out, "--set", "add_k=lots"],
    }[case]
    if case == "checksum":
        (tmp_path / "tinyshakespeare").mkdir()
        write(tmp_path / "tinyshakespeare" / "input.txt", b"First Citizen: not the real file\n")
    result = lmzoo(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("lmzoo: error:")]
    assert len(lines) == 1, result.stderr


def test_export_of_an_unsupported_format(tmp_path, capsys):
    main(["train", "unigram", "--out", str(tmp_path / "run")])
    assert main(["export", str(tmp_path / "run"), "--format", "arpa", "--out", str(tmp_path / "x")]) == 2
    assert "cannot export format 'arpa'" in capsys.readouterr().err


def test_generate_joins_prompt_and_continuation_as_the_tokenizer_does(tmp_path, capsys):
    """Issue 22 defect 8: a space was printed between the prompt and its continuation, which changes the
    text for characters (國破山河在 ，春。). Characters touch; words keep their space."""
    poem = "國破山河在，城春草木深。感時花濺淚，恨別鳥驚心。\n烽火連三月，家書抵萬金。白頭搔更短，渾欲不勝簪。\n"
    corpus = tmp_path / "poem.txt"
    corpus.write_text(poem * 20, encoding="utf-8")
    for tokenizer, prompt in (("char", "國破山河在"), ("word", "the fire")):
        run = tmp_path / tokenizer
        source = corpus if tokenizer == "char" else "lee"
        assert main(["train", "ngram", "--corpus", str(source), "--out", str(run), "--set", f"tokenizer='{tokenizer}'",
                     "--set", "order=4"]) == 0
        capsys.readouterr()
        assert main(["generate", str(run), "--prompt", prompt, "--max-length", "6"]) == 0
        line = capsys.readouterr().out.strip()
        from lmzoo import load

        continuation = load(run).generate(prompt, max_length=6, num_return_sequences=1, sampler="greedy", seed=0)[0]
        joined = prompt + continuation if tokenizer == "char" else f"{prompt} {continuation.lstrip(' ')}"
        assert line == f"[0] {joined}"
    assert line.startswith("[0] the fire ")
