"""The `lmzoo` command: corpora, train, evaluate, generate, export, compare.

Every user error is one line on stderr and exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lmzoo.config import parse_overrides
from lmzoo.errors import LmzooError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the same shape as every other error), exit status 2."""

    def error(self, message: str):
        print(f"lmzoo: error: {' '.join(message.split())}; see `{self.prog} --help`", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    from lmzoo.families import FAMILIES

    parser = _Parser(prog="lmzoo", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="where catalog corpora live (default: $LMZOO_DATA or ~/.cache/lmzoo)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up and info lines too")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    verbs.add_parser("corpora", help="list the corpus catalog and what is present")

    train = verbs.add_parser("train", help="train a model family into a run directory")
    train.add_argument("family", help=f"one of: {', '.join(FAMILIES)}")
    train.add_argument("--corpus", default="lee", help="catalog name or path to a text file/folder (default: lee)")
    train.add_argument("--out", required=True, help="run directory (resumes if it holds a checkpoint)")
    train.add_argument("--preset", default="default", help="named config preset, e.g. quick or default")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field (repeatable)")
    train.add_argument("--seed", type=int, help="random seed (sets the config's seed)")
    train.add_argument("--overwrite", action="store_true",
                       help="start over in --out even if it holds a finished or different run")

    evaluate = verbs.add_parser("evaluate", help="score a trained run on a corpus split")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--corpus", help="default: the corpus the run was trained on")
    evaluate.add_argument("--split", default="test", choices=["train", "valid", "test"])
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")

    generate = verbs.add_parser("generate", help="continue a prompt with a trained run")
    generate.add_argument("run_dir")
    generate.add_argument("--prompt", default="")
    generate.add_argument("--max-length", type=int, default=40, help="new tokens to generate")
    generate.add_argument("--num-return-sequences", type=int, default=1)
    generate.add_argument("--sampler", default="greedy", help="greedy, temperature, top_k, top_p or beam")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                          help="sampler option, e.g. top_k=20, top_p=0.9, temperature=0.8, num_beams=4")

    export = verbs.add_parser("export", help="write a trained run in an interchange format")
    export.add_argument("run_dir")
    export.add_argument("--format", required=True, help="e.g. arpa (ngram), word2vec, projector (word2vec)")
    export.add_argument("--out", required=True, help="output file or folder")

    compare = verbs.add_parser("compare", help="train and compare every family on one corpus (the main job)")
    compare.add_argument("--corpus", default="lee")
    compare.add_argument("--out", default="runs/compare")
    compare.add_argument("--quick", action="store_true", help="tiny sizes, for tests (seconds per family)")
    compare.add_argument("--budget", type=float, default=1.0, help="scale training length of every family")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--families", help="comma-separated subset of the compare entries")
    compare.add_argument("--resume", action="store_true", help="skip entries already finished in --out")
    compare.add_argument("--deterministic", action="store_true",
                         help="TF op determinism (turns XLA off in every entry; slower, said in the table)")
    _add_finetune_parser(verbs)
    report = verbs.add_parser("report", help="write index.html: the results, figures and per-character surprisal")
    report.add_argument("path", help="a compare directory (with results.json) or one run directory")
    return parser


def _print_table(row: dict) -> None:
    for key, value in row.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        print(f"{key:>32}  {value}")


def _join(tokenizer: object, prompt: str, continuation: str) -> str:
    """The prompt and its continuation joined as the tokenizer joins tokens: words and WordPiece
    subwords take a space between them; characters and bytes touch.

    Example:
        >>> from lmzoo.datasets.tokenizers import CharTokenizer
        >>> _join(CharTokenizer.fit("ab"), "國破山河在", "，城春")
        '國破山河在，城春'
    """
    spaced = getattr(tokenizer, "kind", "") in ("word", "subword")
    if spaced and prompt and continuation and not prompt[-1].isspace() and not continuation[0].isspace():
        return f"{prompt} {continuation}"
    return prompt + continuation


def _corpora(args: argparse.Namespace) -> None:
    from lmzoo.datasets import data_dir, list_corpora

    print(f"data directory: {data_dir(args.data_dir)}")
    for row in list_corpora(args.data_dir):
        print(f"  {row['name']:<16} {row['status']:<22} {row['description']}")


def _train(args: argparse.Namespace) -> None:
    from lmzoo import families
    from lmzoo.datasets import load_corpus

    overrides = parse_overrides(args.overrides)
    if args.seed is not None:
        overrides["seed"] = args.seed
    family = families.get_family(args.family)  # fail fast on a bad name, before loading data
    corpus = load_corpus(args.corpus, args.data_dir)
    families.train(family.name, corpus, args.out, preset=args.preset, overwrite=args.overwrite, **overrides)
    print(f"trained {family.name} on {corpus.name} into {args.out}")


def _evaluate(args: argparse.Namespace) -> None:
    from lmzoo import families
    from lmzoo.datasets import load_corpus
    from lmzoo.datasets.corpus import reload_corpus
    from lmzoo.datasets.labelled import load_task_data, reload_task_data
    from lmzoo.harness import evaluate
    from lmzoo.protocols import Classifier, Translator
    from lmzoo.runs import RunDir

    model = families.load(args.run_dir)
    run = RunDir(args.run_dir)
    if isinstance(model, (Classifier, Translator)):  # a fine-tuned run scores on its task data
        kind = "labelled" if isinstance(model, Classifier) else "pairs"
        corpus = (load_task_data(args.corpus, args.data_dir, kind=kind) if args.corpus
                  else reload_task_data(run.read_config(), args.data_dir))
    else:
        corpus = (load_corpus(args.corpus, args.data_dir) if args.corpus
                  else reload_corpus(run.read_config(), args.data_dir))
    row = evaluate(model, corpus, args.split, run=run)
    run.write_json("results.json", row)
    print(json.dumps(row, indent=2, default=str)) if args.json else _print_table(row)


def _generate(args: argparse.Namespace) -> None:
    from lmzoo import families
    from lmzoo.models.sampling import check_sampling_options
    from lmzoo.protocols import Generator, Reconstructor, Translator

    model = families.load(args.run_dir)
    if not isinstance(model, Generator):
        raise LmzooError(f"family '{model.family}' cannot generate text", "use a language-model run (ngram, transformer, ...)")
    tokenizer = getattr(model, "tokenizer", None)
    options = parse_overrides(args.overrides)
    own = {k: options.pop(k) for k in getattr(model, "generate_options", ()) if k in options}  # the family's
    options = own | check_sampling_options(  # once, for every family: names, types, ranges; top_k clamped
        args.sampler, num_return_sequences=args.num_return_sequences, max_new_tokens=args.max_length,
        vocabulary_size=tokenizer.vocabulary_size() if hasattr(tokenizer, "vocabulary_size") else None,
        **options)
    outputs = model.generate(args.prompt, max_length=args.max_length, num_return_sequences=args.num_return_sequences,
                             sampler=args.sampler, seed=args.seed, **options)
    # An autoencoder rewrites the prompt and a translator translates it: neither continues it.
    echo = "" if isinstance(model, (Reconstructor, Translator)) else args.prompt
    for i, text in enumerate(outputs):
        print(f"[{i}] {_join(tokenizer, echo, text)}")


def _export(args: argparse.Namespace) -> None:
    from lmzoo import families

    model = families.load(args.run_dir)
    formats = getattr(model, "export_formats", ())
    if args.format not in formats:
        raise LmzooError(f"family '{model.family}' cannot export format '{args.format}'",
                         f"valid: {', '.join(formats) or 'none'}")
    try:
        model.export(args.format, Path(args.out))
    except OSError as err:  # every family's writer: a missing folder, a read-only disk
        raise LmzooError(f"cannot write '{args.out}' ({err.strerror or err})",
                         "choose an --out in a folder you can write to") from None
    print(f"wrote {args.out}")


def _compare(args: argparse.Namespace) -> None:
    from lmzoo.compare import compare

    if not (args.budget > 0 and math.isfinite(args.budget)):
        raise LmzooError(f"--budget {args.budget} must be a number > 0", "e.g. --budget 4 trains four times longer")
    compare(args.corpus, Path(args.out), quick=args.quick, budget=args.budget, seed=args.seed,
            entries=args.families.split(",") if args.families else None, resume=args.resume,
            data_dir=args.data_dir, deterministic=args.deterministic)


def _report(args: argparse.Namespace) -> None:
    from lmzoo.report import write_report

    print(f"wrote {write_report(Path(args.path), data_dir=args.data_dir)}")


def _add_finetune_parser(verbs: argparse._SubParsersAction) -> None:
    finetune = verbs.add_parser(
        "finetune", help="fine-tune a pre-trained run for classification or translation",
        description="Fine-tune a pre-trained run (transformer, seq2seq, word2vec) on labelled examples or sentence "
                    "pairs. Task files: `label<TAB>text` or `__label__label text` lines (classify); "
                    "`source<TAB>target[<TAB>attribution]` lines (translate).")
    finetune.add_argument("run_dir", help="the pre-trained run directory")
    finetune.add_argument("--task", required=True, choices=["classify", "translate"])
    finetune.add_argument("--corpus", required=True, help="rt-polarity, rt-polarity-sample, tatoeba-cmn, or a TSV file")
    finetune.add_argument("--out", required=True, help="run directory for the fine-tuned model (resumes)")
    finetune.add_argument("--preset", default="default", help="quick or default")
    finetune.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                          help="override a fine-tuning setting, e.g. freeze=True, init='scratch', max_examples=1000")
    finetune.add_argument("--seed", type=int, help="random seed (sets the config's seed)")
    finetune.add_argument("--overwrite", action="store_true",
                          help="start over in --out even if it holds a finished or different run")


def _finetune(args: argparse.Namespace) -> None:
    from lmzoo import families
    from lmzoo.datasets.labelled import load_task_data
    from lmzoo.models import tasks

    overrides = parse_overrides(args.overrides) | {"task": args.task}
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = families.make_config(tasks.FAMILY, args.preset, overrides)
    pretrained = families.load(args.run_dir)
    data = load_task_data(args.corpus, args.data_dir, kind="labelled" if args.task == "classify" else "pairs")
    model = tasks.finetune(pretrained, data, args.out, config, pretrained_run=str(Path(args.run_dir).resolve()),
                           overwrite=args.overwrite)
    print(f"fine-tuned {pretrained.family} ({args.run_dir}) for {args.task} on {data.name} into {args.out} "
          f"({model.num_params():,} parameters)")


VERBS = {"corpora": _corpora, "train": _train, "finetune": _finetune, "evaluate": _evaluate, "generate": _generate,
         "export": _export, "compare": _compare, "report": _report}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb != "corpora":
        from lmzoo.console import quiet_tensorflow

        quiet_tensorflow(args.verbose)
    from lmzoo.runs import Interrupted, stop_on_signals

    try:
        with stop_on_signals():
            VERBS[args.verb](args)
    except LmzooError as err:
        print(f"lmzoo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        name, code = (err.args[0], err.exit_code) if isinstance(err, Interrupted) else ("SIGINT", 130)
        print(f"lmzoo: stopped by {name}; the last checkpoint is kept: run the same command again to resume",
              file=sys.stderr)
        return code
    return 0


def run() -> None:
    """The `lmzoo` command: `main`, then an immediate exit once TensorFlow has been loaded.

    Every file is written and closed by then (atomically), so what is left is TensorFlow's teardown at
    interpreter exit, seconds a user would wait for nothing (measured in benchmarks/results/NOTES.md,
    "transformer"). A verb that never loaded TensorFlow exits as usual.
    """
    code = main()
    if "tensorflow" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
