"""Figures are made from plain records (JSON), without Keras."""

from lmzoo import plots


def test_every_figure_kind_writes_a_png(tmp_path):
    rows = [{"name": "a", "bits_per_char": 2.1, "params": 1e4, "train_seconds": 3, "wordsim353_spearman": 0.2},
            {"name": "b", "bits_per_char": 1.7, "params": 1e6, "train_seconds": 30, "wordsim353_spearman": None},
            {"name": "c", "bits_per_char": float("nan")}]
    curves = {"a": [{"seconds": s, "loss": 3 / (s + 1)} for s in range(10)], "empty": []}
    paths = [
        plots.bar_chart(rows, "bits_per_char", tmp_path / "bars.png"),
        plots.learning_curves(curves, tmp_path / "curves.png"),
        plots.scatter(rows, "params", "bits_per_char", tmp_path / "scatter.png", size="train_seconds"),
        plots.grouped_bars(rows, ["wordsim353_spearman", "bits_per_char"], tmp_path / "grouped.png"),
        plots.text_table([("a", "the fire " * 30), ("b", "")], tmp_path / "text.png", title="samples"),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 3000
