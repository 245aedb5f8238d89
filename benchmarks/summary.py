"""The three peer races in one table, read from their results files (no number is typed in here).

Each row is one pair raced in one run of its benchmark, on one machine: our figure, the peer's,
their ratio and the target from issue 24.

- Word2Vec vs gensim (`benchmarks/word2vec.py` -> `word2vec.json`): training seconds, medians
  over seeds; target ours <= 1.0x gensim at a WordSim353 mean >= gensim's - 0.01.
- Transformer vs nanoGPT (`benchmarks/transformer_shakespeare.py --preset speedrun` ->
  `transformer_speedrun.json`): whole-process wall seconds to nanoGPT's final validation loss; target
  ours <= 0.7x nanoGPT at a loss <= its. Beside it, the same settings and steps on both sides
  (`transformer_shakespeare.json`): the engine comparison, without a target.
- n-gram vs KenLM (`benchmarks/ngram_ptb.py` -> `ngram_ptb.json`): query tokens/s on PTB test with
  the order-5 model; target ours >= the file's `query_speed_target` x KenLM (0.5 in older files). The ARPA write time (target <= 2 s) has no peer: it is
  shown from `ngram_ptb.json` and from `ngram_ptb.py --arpa-only` (`ngram_ptb_arpa.json`) where present.

A results file that is missing, or whose run did not race the peer (its `skipped` line), gives one
line saying so instead of a number.

Usage:
    .venv/bin/python benchmarks/summary.py [--results benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple

RESULTS = Path(__file__).resolve().parent / "results"


class Row(NamedTuple):
    pair: str
    measure: str
    ours: float
    peer: float
    ratio: float  # ours over the peer, as the target is stated
    target: str
    met: bool | None  # None: a row shown for reference, with no target
    source: str
    when: str


def _read(folder: Path, name: str) -> dict | str:
    path = folder / name
    if not path.is_file():
        command = {"transformer_speedrun.json": "transformer_shakespeare.py --preset speedrun"}.get(
            name, f"{name.removesuffix('.json')}.py")
        return f"{name} is missing: run benchmarks/{command}"
    return json.loads(path.read_text())


def _when(data: dict) -> str:
    machine = data.get("machine") or {}
    load = machine.get("load_average_before") or machine.get("load_average") or data.get("load_average")
    load_text = f", load {load[0]:.1f}" if isinstance(load, list) and load else ""
    return f"{data.get('date', '?')}{load_text}"


def word2vec_row(folder: Path) -> Row | str:
    data = _read(folder, "word2vec.json")
    if isinstance(data, str):
        return data
    s = data.get("summary", {})
    if "gensim_list_train_seconds_median" not in s:
        return "Word2Vec vs gensim: gensim was not raced in word2vec.json"
    ratio = s["ratio_ours_over_gensim"]
    quality = s["wordsim353_ours_mean"] >= s["wordsim353_gensim_mean"] - 0.01
    return Row("Word2Vec vs gensim", "train s (median)", s["ours_train_seconds_median"],
               s["gensim_list_train_seconds_median"], ratio,
               f"<= 1.0x, WS353 {s['wordsim353_ours_mean']:.3f} >= {s['wordsim353_gensim_mean']:.3f} - 0.01",
               ratio <= 1.0 and quality, "word2vec.json", _when(data))


def transformer_row(folder: Path, name: str = "transformer_speedrun.json") -> Row | str:
    """Time to nanoGPT's loss (`--preset speedrun`, the goal), or with `transformer_shakespeare.json` the
    same settings and steps on both sides: the engine comparison, which has no target of its own."""
    data = _read(folder, name)
    if isinstance(data, str):
        return data
    peer = data.get("nanogpt", {})
    engine = name == "transformer_shakespeare.json"
    pair = "Transformer, same steps" if engine else "Transformer vs nanoGPT"
    if "process_wall_seconds" not in peer:
        return f"{pair}: {peer.get('skipped', f'nanoGPT was not raced in {name}')}"
    ours = data["ours"]["process_wall_seconds"]
    ratio = ours / peer["process_wall_seconds"]
    loss_ok = data["ours"]["val_loss_disjoint_windows"] <= peer["val_loss_disjoint_windows"]
    if engine:
        return Row(pair, "wall s, nanoGPT's settings", ours, peer["process_wall_seconds"], ratio,
                   "engine comparison, no target", None, name, _when(data))
    return Row(pair, f"wall s to its loss ({data.get('ours_preset', 'same steps')})", ours,
               peer["process_wall_seconds"], ratio, "<= 0.7x, loss <= peer", ratio <= 0.7 and loss_ok, name,
               _when(data))


def ngram_row(folder: Path) -> Row | str:
    """The newest KenLM race: the full `ngram_ptb.py` run or its `--query-only` run."""
    found = [(d.get("date", ""), name, d) for name in ("ngram_ptb.json", "ngram_ptb_query.json")
             if isinstance(d := _read(folder, name), dict) and "kenlm_tokens_per_second" in d.get("kenlm", {})]
    if not found:
        data = _read(folder, "ngram_ptb.json")
        skipped = data.get("kenlm", {}).get("skipped") if isinstance(data, dict) else None
        return f"n-gram vs KenLM: {skipped or 'KenLM was not raced (run benchmarks/ngram_ptb.py)'}"
    _, name, data = max(found, key=lambda item: item[0])
    ken = data["kenlm"]
    ratio = ken["ours_tokens_per_second"] / ken["kenlm_tokens_per_second"]
    target = ken.get("query_speed_target", 0.5)  # issue 16's 0.5x until the file names issue 24's 1.0x
    text_in = ken.get("query_speed_text_in_ours_over_kenlm")
    measure = "query tokens/s" + (f" (text in: {text_in:.2f}x)" if text_in else "")
    return Row("n-gram vs KenLM", measure, ken["ours_tokens_per_second"], ken["kenlm_tokens_per_second"],
               ratio, f">= {target:g}x", ratio >= target, name, _when(data))


def summary_lines(folder: Path = RESULTS) -> list[str]:
    """The table's lines: one row per raced pair, one line per pair that has no race to show."""
    rows = [word2vec_row(folder), transformer_row(folder), transformer_row(folder, "transformer_shakespeare.json"),
            ngram_row(folder)]
    header = f"{'pair':<26}{'measure':<34}{'ours':>10}{'peer':>10}{'ratio':>8}  {'target':<46}{'met':<16}results file (date, load)"
    lines = [header, "-" * len(header)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        fmt = ".3g" if row.ours >= 1e4 else ".1f"
        # A goal counts as met only on a quiet machine (load < 2): other jobs' load blurs both sides.
        quiet = not (m := re.search(r"load ([\d.]+)", row.when)) or float(m.group(1)) < 2
        met = ("-" if row.met is None else "yes" if row.met else "NO") + ("" if quiet else " (load > 2)")
        lines.append(f"{row.pair:<26}{row.measure:<34}{row.ours:>10{fmt}}{row.peer:>10{fmt}}{row.ratio:>7.2f}x  "
                     f"{row.target:<46}{met:<16}{row.source} ({row.when})")
    for name in ("ngram_ptb.json", "ngram_ptb_query.json", "ngram_ptb_arpa.json"):  # the races' writes, --arpa-only's
        data = _read(folder, name)
        ken = data.get("kenlm", data) if isinstance(data, dict) else {}
        if "arpa_write_seconds" not in ken:
            continue
        # The writer is one thread: on a shared machine its CPU seconds stand for an idle machine's wall time.
        cpu = ken.get("arpa_write_cpu_seconds")
        cpu_text = f", {cpu:.2f} s CPU" if cpu is not None else ""
        best = min(ken["arpa_write_seconds"], cpu if cpu is not None else float("inf"))
        lines.append(f"ARPA write, PTB order 5: {ken['arpa_write_seconds']:.2f} s wall{cpu_text} "
                     f"(load {ken.get('arpa_write_load_average', float('nan')):.1f}); target <= "
                     f"{ken['arpa_write_target_seconds']:g} s: {'met' if best <= ken['arpa_write_target_seconds'] else 'MISSED'}"
                     f"{' on CPU seconds' if best < ken['arpa_write_seconds'] else ''} ({name}, {_when(data)})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(RESULTS), help="folder of the benchmarks' results files")
    args = parser.parse_args(argv)
    print("\n".join(summary_lines(Path(args.results))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
