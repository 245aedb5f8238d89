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


def test_crossing_figure_and_the_crossover_atlas_panel(tmp_path):
    from lmzoo.plots import against_training_tokens, bits_by_position, crossover_panel

    atlas = {"date": "d", "test": {"reviews": 1, "characters": 1000}, "rows": [
        {"model": "transformer", "kind": "neural", "train_chars": c, "train_tokens": c, "bits_per_char": b,
         "cpu_minutes": 1.0, "steps": 10, "params": 5000, "train_flops": 6 * 5000 * c}
        for c, b in ((1e5, 3.0), (1e4, 4.0))] + [
        {"model": "char-6gram", "kind": "counting", "train_chars": 1e4, "train_tokens": 1e4, "bits_per_char": 2.5,
         "cpu_minutes": 0.1, "steps": None, "params": None, "train_flops": None}], "crossings": []}
    panel = crossover_panel(atlas)
    assert panel["flops_params"] == 5000
    transformer = panel["curves"][0]
    assert transformer["tokens"] == [1e4, 1e5] and transformer["values"] == [4.0, 3.0]  # sorted by data
    panel["lines"] = [{"label": "6-gram", "value": 2.2}]
    assert against_training_tokens([panel, {**panel, "flops_params": None, "logy": True}], tmp_path / "x.png").exists()
    shares = {"first": 0.2, "rest": 0.6, "between": 0.2}
    assert bits_by_position({"a": {"first": 3.0, "rest": 1.0, "between": 0.5}}, shares, tmp_path / "p.png").exists()
