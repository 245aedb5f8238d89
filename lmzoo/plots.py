"""Figures made from results.json and metrics.jsonl alone (no Keras), saved as PNG files.

The backend is matplotlib's choice (Agg where there is no display; tests set MPLBACKEND=Agg),
so a notebook can still show what a lesson draws.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "bpc.png"
    >>> bar_chart([{"name": "a", "bits_per_char": 2.0}], "bits_per_char", out).exists()
    True
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _usable(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def learning_curves(
    curves: Mapping[str, Sequence[Mapping]], path: str | Path, *, x: str = "seconds", y: str = "loss",
    title: str = "Learning curves", logx: bool = False,
) -> Path:
    """One line per run: `y` against `x` from each run's metrics.jsonl records."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, records in curves.items():
        points = [(r[x], r[y]) for r in records if _usable(r.get(x)) and _usable(r.get(y))]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="." if len(points) < 30 else None, label=name)
    ax.set_xlabel({"seconds": "training time (s)"}.get(x, x))
    ax.set_ylabel(y)
    if logx:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8)
    return _save(fig, path)


def learning_curve_panels(
    lm_curves: Mapping[str, Sequence[Mapping]], other: Mapping[str, Mapping[str, Sequence[Mapping]]],
    path: str | Path, *, title: str = "Learning curves against wall time",
) -> Path:
    """Language models' validation bits/char on one shared axis; every other loss in its own panel.

    `lm_curves` maps a run name to records with `seconds` and `bits_per_char`; `other` maps a
    family to {run name: metrics.jsonl records with `seconds` and `loss`}. Losses of different
    kinds (per pair, per token, per character) never share an axis.
    """
    panels = [("language models", lm_curves, "bits_per_char", "validation bits/char (closed)")]
    panels += [(family, curves, "loss", f"{family} training loss") for family, curves in other.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (name, curves, y, ylabel) in zip(axes[0], panels, strict=True):
        for run, records in curves.items():
            points = [(r["seconds"], r[y]) for r in records if _usable(r.get("seconds")) and _usable(r.get(y))]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="." if len(points) < 30 else None, label=run)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel(ylabel)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        if curves:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def bar_chart(rows: Sequence[Mapping], metric: str, path: str | Path, *, label: str = "name",
              title: str | None = None, lower_is_better: bool = True) -> Path:
    """Bars of one metric across runs (rows without a finite value are left out)."""
    rows = [r for r in rows if _usable(r.get(metric))]
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(rows) + 2), 4))
    names = [str(r[label]) for r in rows]
    values = [r[metric] for r in rows]
    bars = ax.bar(names, values, color="tab:blue")
    ax.bar_label(bars, fmt="%.3g", fontsize=8)
    ax.set_ylabel(metric + (" (lower is better)" if lower_is_better else " (higher is better)"))
    ax.set_title(title or metric)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def grouped_bars(rows: Sequence[Mapping], metrics: Sequence[str], path: str | Path, *, label: str = "name",
                 title: str = "") -> Path:
    """Several metrics per run side by side (e.g. WordSim353, SimLex-999, analogies)."""
    rows = [r for r in rows if any(_usable(r.get(m)) for m in metrics)]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows) + 2), 4))
    width = 0.8 / max(1, len(metrics))
    for j, metric in enumerate(metrics):
        xs = [i + j * width for i in range(len(rows))]
        ax.bar(xs, [r.get(metric) if _usable(r.get(metric)) else 0 for r in rows], width, label=metric)
    ax.set_xticks([i + width * (len(metrics) - 1) / 2 for i in range(len(rows))], [str(r[label]) for r in rows],
                  rotation=30)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def scatter(rows: Sequence[Mapping], x: str, y: str, path: str | Path, *, size: str | None = None,
            label: str = "name", logx: bool = True, title: str = "") -> Path:
    """`y` against `x` per run, point area from `size` (e.g. training seconds), each point labelled."""
    rows = [r for r in rows if _usable(r.get(x)) and _usable(r.get(y))]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = [r.get(size) for r in rows] if size else [None] * len(rows)
    biggest = max([s for s in sizes if _usable(s)] or [1.0]) or 1.0
    for row, s in zip(rows, sizes, strict=True):
        area = 40 + 400 * (s / biggest) if _usable(s) else 60
        ax.scatter(row[x], row[y], s=area, alpha=0.6)
        ax.annotate(str(row[label]), (row[x], row[y]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title + (f" (area ∝ {size})" if size else ""))
    ax.grid(alpha=0.3)
    return _save(fig, path)


def text_table(rows: Sequence[Sequence[str]], path: str | Path, *, title: str = "", wrap: int = 90) -> Path:
    """Labelled text blocks (e.g. generated samples side by side) as a figure: `rows` are (label, text)."""
    lines: list[tuple[str, str]] = []
    for label, text in rows:
        wrapped = textwrap.wrap(" ".join(str(text).split()), wrap) or [""]
        lines += [(label, wrapped[0])] + [("", more) for more in wrapped[1:]] + [("", "")]
    fig, ax = plt.subplots(figsize=(11, 0.6 + 0.22 * len(lines)))
    ax.axis("off")
    for i, (label, text) in enumerate(lines):
        y = 1 - (i + 0.5) / max(1, len(lines))
        ax.text(0.0, y, label, fontsize=9, fontweight="bold", va="center", family="monospace")
        ax.text(0.2, y, text, fontsize=9, va="center", family="monospace")
    ax.set_title(title)
    return _save(fig, path)


def against_training_tokens(panels: Sequence[Mapping], path: str | Path, *, title: str = "") -> Path:
    """Quality against training tokens (log x), one panel per corpus, the counting models as lines.

    Each panel is a mapping with `title`, `ylabel`, `curves` (each `label`, `tokens`, `values`, optional
    `marker` and `color`), `lines` (each `label`, `value`: a model that does not train longer, e.g. a counting model)
    and optional `flops_params`: with it, a top axis labels the same x in training FLOPs ≈ 6·N·D
    (Kaplan et al. 2020) for a model of N = `flops_params` parameters. `logy` puts y on a log scale.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.6), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for curve in panel.get("curves", ()):
            points = [(t, v) for t, v in zip(curve["tokens"], curve["values"], strict=True) if _usable(t) and _usable(v)]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker=curve.get("marker", "."), label=curve["label"], color=curve.get("color"),
                        ms=10 if len(points) == 1 else 5)
        for k, line in enumerate(panel.get("lines", ())):
            ax.axhline(line["value"], color=f"C{7 + k % 3}", ls="--", lw=1.2, label=f"{line['label']} {line['value']:.3g}")
        ax.set_xscale("log")
        if panel.get("logy"):
            ax.set_yscale("log")
        ax.set_xlabel(panel.get("xlabel", "training tokens seen"))
        ax.set_ylabel(panel["ylabel"])
        ax.set_title(panel["title"], fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        n = panel.get("flops_params")
        if n:
            top = ax.secondary_xaxis("top", functions=(lambda t, n=n: 6 * n * t, lambda f, n=n: f / (6 * n)))
            top.set_xlabel(f"training FLOPs ≈ 6·N·D, N = {n / 1e6:.2g} M", fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def crossover_panel(data: Mapping) -> dict:
    """One `against_training_tokens` panel from the crossover atlas (`benchmarks/results/crossover.json`):
    bits/char against training characters, one line per model; the top axis uses the Transformer's size."""
    curves, sizes = [], set()
    for model in dict.fromkeys(r["model"] for r in data["rows"]):
        rows = sorted((r for r in data["rows"] if r["model"] == model), key=lambda r: r["train_chars"])
        kind = rows[0]["kind"]
        curves.append({"label": f"{model} ({kind})", "tokens": [r["train_chars"] for r in rows],
                       "values": [r["bits_per_char"] for r in rows],
                       "marker": {"counting": "s", "neural": "o", "compressor": "x"}.get(kind, ".")})
        if model == "transformer":
            sizes |= {r["params"] for r in rows if r.get("params")}
    return {"title": f"crossover atlas ({data.get('date', '')}; test {data['test']['characters']:,} characters)",
            "ylabel": "test bits/char", "xlabel": "training characters", "curves": curves,
            "flops_params": sizes.pop() if len(sizes) == 1 else None}


def bits_by_position(costs: Mapping[str, Mapping[str, float]], shares: Mapping[str, float], path: str | Path, *,
                     title: str = "") -> Path:
    """Grouped bars: mean bits of each model (`costs[model][position]`) at each position class of a word
    (first character, later characters, between words), with each class's share of the text in the legend."""
    positions = list(shares)
    models = list(costs)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(models) + 2), 4.2))
    width = 0.8 / len(positions)
    for j, position in enumerate(positions):
        xs = [i + j * width for i in range(len(models))]
        bars = ax.bar(xs, [costs[m].get(position, math.nan) for m in models], width,
                      label=f"{position} ({shares[position]:.0%} of characters)")
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([i + width * (len(positions) - 1) / 2 for i in range(len(models))], models, rotation=15)
    ax.set_ylabel("mean bits per character")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)
