"""index.html: the comparison as one page, self-contained (figures inline, no network, no server).

`write_report(DIR)` reads a `lmzoo compare` directory (results.json, the PNG figures, each run's
surprisal.json and MODEL_CARD.md) or one run directory, and writes DIR/index.html with:

- the results table, built by the same code as results.md (`compare.table_columns`,
  `compare.format_value`) and sortable by any column; rows that are not language models
  (compressors, the autoencoder's conditional figure, embeddings only) are marked;
- every figure as a base64 PNG, with a one-line caption saying what to look at;
- the per-character surprisal of one test paragraph for every language model
  (`lmzoo.surprisal`), a difference view of any two, and on hover the exact bits and the
  model's top-5 next tokens;
- the samples with their prompt, sampler and seed; links to each run and its model card.

Every number comes from those files. All text is HTML-escaped, and the data the script reads is
JSON with `<`, `>` and `&` escaped, so a corpus line holding `<script>` shows as text.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lmzoo.compare import SURPRISAL_FILE, TABLE_NOTE, format_value, table_columns
from lmzoo.errors import LmzooError
from lmzoo.model_card import CARD
from lmzoo.runs import RunDir, write_text_atomic

PAGE = "index.html"
CAPTIONS = {  # figure file -> what to look at
    "bits_per_char.png": "Open-vocabulary bits per character of each language model on the test split: lower is "
                         "better. Set each bar against the compressor rows of the table.",
    "learning_curves.png": "Validation bits/char against training seconds: a curve still falling at its end was "
                           "stopped by the budget, not by convergence.",
    "quality_vs_params.png": "Bits/char against parameters (area: training time): see whether more parameters "
                             "bought fewer bits at this budget.",
    "embeddings.png": "Word-similarity and analogy scores of every model with word vectors: higher is better; "
                      "near 0 means the vectors carry little meaning yet.",
    "samples.png": "Greedy continuations of the same prompt: look for loops, invented words and where each "
                   "model drifts off the topic.",
}
MAX_BITS, DIFF_BITS = 10.0, 5.0  # colour scales: white at 0, full at MAX_BITS (or +-DIFF_BITS)
OPEN_CLOSED = ("bits/char (open vocabulary) charges every unknown word the cost of spelling it letter by letter, so "
               "every model pays for every character; closed bits/char leaves that cost out, as word models used "
               "to report.")


def _marks(row: dict) -> list[str]:
    """Why a row is not ranked with the language models (empty for a language model)."""
    if row.get("kind") == "compressor":
        return ["not a language model"]
    if row.get("status") == "failed":
        return ["failed"]
    if row.get("bits_per_char") is None and row.get("conditional_bits_per_char") is not None:
        return ["conditional: not comparable"]
    if row.get("bits_per_char") is None:
        return ["no bits/char"]
    return []


def _data_value(value: Any) -> str:
    """The raw value a column sorts by ('' when missing or not finite)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def table_html(rows: list[dict]) -> str:
    """The results table: the cells of results.md, with raw values for sorting and the rows' marks."""
    columns = table_columns(rows)
    head = "".join(f'<th data-key="{html.escape(k)}" title="sort by {html.escape(t)}">{html.escape(t)}</th>'
                   for k, t in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            text = html.escape(format_value(row.get(key)))
            if key == "name":
                text += "".join(f' <span class="badge">{html.escape(m)}</span>' for m in _marks(row))
            cells.append(f'<td data-value="{html.escape(_data_value(row.get(key)))}">{text}</td>')
        kind = "lm" if not _marks(row) else "other"
        body.append(f'<tr class="{kind}" data-name="{html.escape(str(row.get("name")))}">{"".join(cells)}</tr>')
    return (f'<table id="results-table"><thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody></table>")


def _figures_html(folder: Path) -> str:
    parts = []
    for name, caption in CAPTIONS.items():
        path = folder / name
        if path.exists():
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return "\n".join(parts) or "<p>No figures in this directory.</p>"


def _samples_html(rows: list[dict]) -> str:
    parts = []
    for row in rows:
        name = html.escape(str(row.get("name")))
        if row.get("reconstruction_examples"):
            pairs = "".join(f"<li><q>{html.escape(a)}</q> → <q>{html.escape(b)}</q></li>"
                            for a, b in row["reconstruction_examples"])
            parts.append(f'<div class="sample"><h3>{name}</h3><p class="settings">input → reconstruction '
                         f"(the autoencoder rewrites its input; greedy)</p><ul>{pairs}</ul></div>")
        elif row.get("sample") is not None:
            settings = (f"prompt <q>{html.escape(str(row.get('prompt', '')))}</q> · sampler "
                        f"{html.escape(str(row.get('sampler', 'not recorded')))} · at most "
                        f"{html.escape(str(row.get('sample_max_length', '–')))} new tokens · seed "
                        f"{html.escape(str(row.get('sample_seed', 'not recorded')))}")
            parts.append(f'<div class="sample"><h3>{name}</h3><p class="settings">{settings}</p>'
                         f'<p class="text"><span class="prompt">{html.escape(str(row.get("prompt", "")))}</span> '
                         f"{html.escape(str(row['sample']))}</p></div>")
    return "\n".join(parts) or "<p>No generative row.</p>"


def _links_html(rows: list[dict], runs: dict[str, Path], page_dir: Path) -> str:
    items = []
    for row in rows:
        run = runs.get(str(row.get("name")))
        if run is None or not run.is_dir():
            continue
        href = quote(os.path.relpath(run, page_dir).replace(os.sep, "/"))
        card = (f' · <a href="{href}/{CARD}">model card</a>' if (run / CARD).exists()
                else " · no model card (a run made before cards were written)")
        items.append(f'<li><a href="{href}/">{html.escape(href)}/</a>{card}</li>')
    return "<ul>" + "\n".join(items) + "</ul>" if items else "<p>No run directories.</p>"


def _view(name: str, data: dict) -> dict:
    keep = ("text", "char_bits", "char_token", "tokens", "bits_per_char", "paragraph", "top_matches_scoring")
    return {"name": name, **{k: data[k] for k in keep if k in data}}


def _script_json(data: Any) -> str:
    """JSON that can sit inside <script>: no `<`, `>` or `&` that could end the element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _paragraph_note(views: list[dict]) -> str:
    if not views:
        return ("No language-model row here: nothing to colour. (Compressors and embeddings give no "
                "probability per character.)")
    p = views[0].get("paragraph", {})
    length = len(views[0]["text"]) - 1
    cut = (f"cut at {p.get('max_chars')} characters (at the last space before it, if any)" if p.get("cut")
           else f"shown whole ({length} characters, under the {p.get('max_chars')}-character cut)")
    return (f"Line {p.get('line', 0) + 1} of the test split, picked with seed {p.get('seed')} and {cut}. Each "
            f"character is coloured by the bits the model paid for it (white 0, deep red ≥ {MAX_BITS:g}); a word "
            "model's cost is spread over its word's letters; the spaces "
            "and line breaks a word tokenizer drops carry what the layout model charges for them; dotted underline: an unknown word, spelled out by the spelling model. Hover for the exact "
            "bits and the model's top-5 next tokens at that point.")


def _load(path: Path, data_dir: str | None) -> tuple[dict, list[dict], dict[str, Path]]:
    """(meta, table rows, run directory by row name) of a compare directory or of one run directory."""
    results = path / "results.json"
    if results.exists():
        saved = RunDir(path).read_json("results.json")
        if isinstance(saved, dict) and "rows" in saved:  # a compare directory
            rows = saved["rows"] + saved.get("compressors", [])
            return saved, rows, {str(r.get("name")): path / "runs" / str(r.get("name")) for r in saved["rows"]}
    if not (path / "config.json").exists():
        raise LmzooError(f"'{path}' holds neither the results.json of `lmzoo compare` nor a run's config.json",
                         "pass a compare --out directory or a run directory")
    run = RunDir(path)
    if not results.exists():
        raise LmzooError(f"run '{path}' has no results.json", f"run `lmzoo evaluate {path}` first")
    row = {"name": path.name, **run.read_json("results.json"), "status": "ok"}
    if row.get("bits_per_char") is not None and not run.file(SURPRISAL_FILE).exists():
        _score_paragraph(run, data_dir)
    return {"corpus": row.get("corpus"), "run": path.name}, [row], {path.name: path}


def _score_paragraph(run: RunDir, data_dir: str | None) -> None:
    """Write the run's surprisal.json (a run trained outside compare has none yet)."""
    from lmzoo.datasets.corpus import reload_corpus
    from lmzoo.families import load
    from lmzoo.surprisal import paragraph_surprisal

    run.write_json(SURPRISAL_FILE, paragraph_surprisal(load(run.path), reload_corpus(run.read_config(), data_dir)))


def write_report(path: str | os.PathLike, data_dir: str | None = None) -> Path:
    """Write `path`/index.html for a compare directory or one run directory; returns its path."""
    path = Path(path)
    if not path.is_dir():
        raise LmzooError(f"'{path}' is not a directory", "pass the --out of `lmzoo compare` or a run directory")
    meta, rows, runs = _load(path, data_dir)
    views = []
    for row in rows:
        run = runs.get(str(row.get("name")))
        if row.get("status") == "ok" and run is not None and (run / SURPRISAL_FILE).exists():
            views.append(_view(str(row["name"]), RunDir(run).read_json(SURPRISAL_FILE)))
    title = (f"lmzoo compare · {meta.get('corpus')}" if "rows" in meta else f"lmzoo run · {meta.get('run')}")
    settings = ", ".join(f"{k} {meta[k]}" for k in ("preset", "budget", "seed", "date", "machine", "cpu_count")
                         if meta.get(k) is not None)
    if meta.get("wall_seconds") is not None:
        settings += f", wall time {meta['wall_seconds']:.0f} s"
    failed = "".join(f"<li>{html.escape(str(r['name']))} failed: {html.escape(str(r.get('reason', '')))}</li>"
                     for r in rows if r.get("status") == "failed")
    errors = "".join(f"<li>{html.escape(str(r['name']))}: no per-character view ({html.escape(r['surprisal_error'])})"
                     "</li>" for r in rows if r.get("surprisal_error"))
    script = (Path(__file__).with_name("report_page.js")).read_text(encoding="utf-8")
    data = {"views": views, "scale": {"max_bits": MAX_BITS, "diff_bits": DIFF_BITS}}
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }} .meta, .note {{ color: #555; }}
table {{ border-collapse: collapse; font-size: 13px; display: block; overflow-x: auto; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 7px; text-align: right; white-space: nowrap; }}
th {{ cursor: pointer; background: #f3f3f3; position: sticky; top: 0; }} th:hover {{ background: #e4e4e4; }}
th[aria-sort=ascending]::after {{ content: " ▲"; }} th[aria-sort=descending]::after {{ content: " ▼"; }}
td:first-child, th:first-child {{ text-align: left; }} tr.other td {{ color: #666; background: #fafafa; }}
.badge {{ font-size: 11px; background: #eee; border: 1px solid #ccc; border-radius: 3px; padding: 0 4px; color: #444; }}
figure {{ display: inline-block; margin: 0.5em; max-width: 560px; vertical-align: top; }}
figure img {{ max-width: 100%; border: 1px solid #ddd; }} figcaption {{ font-size: 13px; color: #444; }}
.chars {{ font: 15px/1.9 ui-monospace, monospace; white-space: normal; overflow-wrap: anywhere; margin: 0.2em 0 1em; }}
.c {{ white-space: pre; border-radius: 2px; }} .w {{ white-space: nowrap; }}
.c.unk {{ text-decoration: underline dotted 2px; text-underline-offset: 3px; }}
.srow h3, #diff-title {{ font-size: 14px; margin: 0.6em 0 0; }}
#tooltip {{ position: absolute; background: #fff; border: 1px solid #888; padding: 6px 9px; font-size: 13px;
  box-shadow: 2px 2px 6px #0003; max-width: 320px; white-space: pre-wrap; pointer-events: none; }}
#tooltip ol {{ margin: 2px 0 4px 1.2em; padding: 0; }} .tip-head {{ font-weight: 600; }}
.sample .text {{ white-space: pre-wrap; overflow-wrap: anywhere; }} .prompt {{ background: #eef; }}
.settings {{ color: #555; font-size: 13px; margin: 0; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">{html.escape(settings)}</p>
<section id="results"><h2>Results</h2>
<p class="note">{html.escape(OPEN_CLOSED)} Click a column title to sort; rows with a grey mark are not ranked
with the language models.</p>
{table_html(rows)}
<details><summary>What every column means</summary><p>{html.escape(TABLE_NOTE)}</p></details>
{f'<ul class="failed">{failed}</ul>' if failed else ''}
</section>
<section id="surprisal"><h2>Where each model pays: bits per character of one test paragraph</h2>
<p class="note">{html.escape(_paragraph_note(views))}</p>
{f'<ul>{errors}</ul>' if errors else ''}
<div id="surprisal-rows"></div>
<h2>Difference</h2>
<p id="diff-controls">A <select id="diff-a"></select> minus B <select id="diff-b"></select></p>
<p id="diff-title"></p><p class="chars" id="diff-chars"></p>
<div id="tooltip" hidden></div>
</section>
<section id="figures"><h2>Figures</h2>
{_figures_html(path)}
</section>
<section id="samples"><h2>Samples</h2>
{_samples_html(rows)}
</section>
<section id="runs"><h2>Run directories and model cards</h2>
{_links_html(rows, runs, path)}
</section>
<script id="lmzoo-data" type="application/json">{_script_json(data)}</script>
<script>
{script}
</script>
</body></html>
"""
    write_text_atomic(path / PAGE, page)
    return path / PAGE


__all__ = ["PAGE", "table_html", "write_report"]
