"""index.html, the comparison as a page: checked as written and in headless Chromium as a person sees it.

The browser tests need Debian's `chromium` (`make test` installs it when it can); where it is
missing or cannot start they are skipped with the reason. `LMZOO_SCREENSHOT=path.png` keeps the
screenshot the browser test takes (the README's picture is made that way).
"""

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lmzoo.cli import main
from lmzoo.compare import compare, compressor_rows
from lmzoo.report import write_report

ENTRIES = ["unigram", "ngram-2", "ngram-char-6", "rnnlm"]  # the quickest entries, one neural


class Page(HTMLParser):
    """What a reader sees of the page: table rows and cells, the surprisal spans, the script's mark."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.header, self.rows, self.views, self.diff_spans, self.ready = [], [], [], 0, None
        self._in_table = self._in_th = self._in_td = self._badge = False
        self._where = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.ready = a.get("data-ready")
        elif tag == "table" and a.get("id") == "results-table":
            self._in_table = True
        elif self._in_table and tag == "th":
            self._in_th = True
            self.header.append("")
        elif self._in_table and tag == "tr" and "data-name" in a:
            self.rows.append((a["data-name"], []))
        elif self._in_table and tag == "td":
            self._in_td = True
            self.rows[-1][1].append("")
        elif tag == "span" and "badge" in classes:
            self._badge = True
        elif tag == "div" and "srow" in classes:
            self._where = "view"
            self.views.append(0)
        elif tag == "p" and a.get("id") == "diff-chars":
            self._where = "diff"
        elif tag == "h2":
            self._where = None
        elif tag == "span" and "c" in classes:
            if self._where == "view":
                self.views[-1] += 1
            elif self._where == "diff":
                self.diff_spans += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "th":
            self._in_th = False
        elif tag == "td":
            self._in_td = False
        elif tag == "span":
            self._badge = False

    def handle_data(self, data):
        if self._in_th:
            self.header[-1] += data
        elif self._in_td and not self._badge:
            self.rows[-1][1][-1] += data

    def cells(self):
        return [[c.strip() for c in cells] for _, cells in self.rows]

    def names(self):
        return [name for name, _ in self.rows]


def browse(page: Path, fragment: str = "", screenshot: Path | None = None) -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, the console lines) of `page` in headless Chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
            f"--user-data-dir={page.parent / '.chromium'}", "--window-size=1200,1500", "--virtual-time-budget=5000",
            "--dump-dom", *([f"--screenshot={screenshot}"] if screenshot else []), page.as_uri() + fragment]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"chromium cannot start here: {err}")
    if "<html" not in done.stdout:
        pytest.skip(f"chromium cannot start here: {(done.stderr.strip().splitlines() or ['no output'])[-1][:200]}")
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    compare("lee", out, quick=True, entries=ENTRIES)
    return out, json.loads((out / "results.json").read_text())


def _lm_texts(out: Path, saved: dict) -> list[str]:
    """The paragraph each language-model row was scored on, from its run's surprisal.json."""
    return [json.loads((out / "runs" / r["name"] / "surprisal.json").read_text())["text"]
            for r in saved["rows"] if r.get("bits_per_char") is not None]


def _markdown_table(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip()[2:-2].split(" | ")] for line in lines]


def test_the_pages_table_equals_results_md(compared):
    out, saved = compared
    page = Page((out / "index.html").read_text())
    table = _markdown_table((out / "results.md").read_text())
    assert [h.strip() for h in page.header] == table[0]
    assert page.cells() == table[1:]
    assert page.names() == [r["name"] for r in saved["rows"] + saved["compressors"]]
    assert {r["name"] for r in saved["compressors"]} == {"gzip", "bz2", "xz"}


def test_every_run_has_a_model_card_with_its_figures(compared):
    out, saved = compared
    for row in saved["rows"]:
        card = (out / "runs" / row["name"] / "MODEL_CARD.md").read_text()
        assert f"| open-vocabulary bits/char | {row['bits_per_char']:.4g} |" in card
        assert f'href="runs/{row["name"]}/MODEL_CARD.md"' in (out / "index.html").read_text()


def test_page_in_a_browser(compared, tmp_path):
    out, saved = compared
    shot = tmp_path / "page.png"
    dom, console = browse(out / "index.html", screenshot=shot)
    assert shot.stat().st_size > 10_000
    page = Page(dom)
    assert page.ready == "yes" and not console, console
    assert sorted(page.names()) == sorted(r["name"] for r in saved["rows"] + saved["compressors"])
    texts = _lm_texts(out, saved)
    assert len(texts) == len(ENTRIES) and page.views == [len(t) for t in texts]  # one span per character
    assert page.diff_spans == len(texts[0])
    if os.environ.get("LMZOO_SCREENSHOT"):  # the README's picture, made from the page itself
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(colors=128).save(os.environ["LMZOO_SCREENSHOT"], optimize=True)


def test_sorting_by_bits_per_char_reorders_the_rows(compared):
    out, saved = compared
    lms = [r for r in saved["rows"] if r.get("bits_per_char") is not None]
    others = [r["name"] for r in saved["rows"] + saved["compressors"] if r.get("bits_per_char") is None]
    ascending = [r["name"] for r in sorted(lms, key=lambda r: r["bits_per_char"])]
    assert ascending != [r["name"] for r in lms]  # the default order is not already sorted
    for fragment, expected in (("#sort=bits_per_char", ascending), ("#sort=-bits_per_char", ascending[::-1])):
        dom, console = browse(out / "index.html", fragment)
        assert Page(dom).names() == expected + others and not console  # rows without the figure stay last


def _corpus_file(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_corpus_text_is_escaped(tmp_path):
    attack = "<script>document.body.dataset.pwned = 'yes'</script>"
    lines = [f"{attack} the minister said on line {i} that talks & markets would go on <b>today</b>."
             for i in range(40)]
    out = tmp_path / "out"
    compare(_corpus_file(tmp_path / "markup.txt", lines), out, quick=True, entries=["unigram", "ngram-char-6"])
    html = (out / "index.html").read_text()
    assert html.count("<script") == 2 and "<b>today" not in html  # only the page's own two scripts
    dom, console = browse(out / "index.html")
    page = Page(dom)
    assert page.ready == "yes" and "pwned" not in dom.split("<body")[1].split(">")[0] and not console
    assert page.views == [len(t) for t in _lm_texts(out, json.loads((out / "results.json").read_text()))]
    assert "&lt;script&gt;document.body" in dom  # the sample's prompt, shown as text


def test_pages_with_no_and_ten_language_models(compared, tmp_path, lee):
    out, saved = compared
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "results.json").write_text(json.dumps({"corpus": "lee", "rows": [], "compressors": compressor_rows(lee)}))
    dom, console = browse(write_report(empty))
    page = Page(dom)
    assert page.ready == "yes" and not console and page.views == [] and page.names() == ["gzip", "bz2", "xz"]
    ten = tmp_path / "ten"
    source = next(r for r in saved["rows"] if r["name"] == "ngram-char-6")
    rows = [{**source, "name": f"lm{i}"} for i in range(10)]
    for row in rows:
        (ten / "runs" / row["name"]).mkdir(parents=True)
        shutil.copy(out / "runs" / "ngram-char-6" / "surprisal.json", ten / "runs" / row["name"])
    (ten / "results.json").write_text(json.dumps({"corpus": "lee", "rows": rows}))
    dom, console = browse(write_report(ten))
    text = json.loads((out / "runs" / "ngram-char-6" / "surprisal.json").read_text())["text"]
    assert Page(dom).views == [len(text)] * 10 and not console


def test_chinese_corpus_and_very_long_lines(tmp_path):
    sentence = "我明天要去看电影，然后和朋友一起吃晚饭。今天天气很好，我们在公园里散步了很久。"
    chinese = [sentence[i % 7:] + sentence[: i % 7] for i in range(40)]
    out = tmp_path / "zh"
    compare(_corpus_file(tmp_path / "zh.txt", chinese), out, quick=True, entries=["unigram", "ngram-char-6"])
    dom, console = browse(out / "index.html")
    texts = _lm_texts(out, json.loads((out / "results.json").read_text()))
    assert texts[0].strip() in chinese and Page(dom).views == [len(t) for t in texts] and not console
    words = "the court heard that the minister had said the budget would pass before the storm".split()
    long = [" ".join(words[(i + j) % len(words)] for j in range(600)) for i in range(12)]  # ~3,000 characters
    out = tmp_path / "long"
    compare(_corpus_file(tmp_path / "long.txt", long), out, quick=True, entries=["unigram"])
    dom, console = browse(out / "index.html")
    (text,) = _lm_texts(out, json.loads((out / "results.json").read_text()))
    assert len(text) <= 321 and "cut at 320 characters" in dom
    assert Page(dom).views == [len(text)] and not console


def test_report_verb_on_one_run_and_on_a_bad_folder(lee, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "unigram", "--out", str(run)]) == 0
    assert main(["evaluate", str(run)]) == 0
    assert main(["report", str(run)]) == 0 and "index.html" in capsys.readouterr().out
    page = Page((run / "index.html").read_text())
    assert page.names() == ["run"] and (run / "surprisal.json").exists()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "neither the results.json" in err


def test_hover_shows_the_exact_bits_and_the_top_5_next_tokens(compared):
    out, _ = compared
    view = json.loads((out / "runs" / "ngram-char-6" / "surprisal.json").read_text())
    i = 5
    token = view["tokens"][view["char_token"][i]]
    dom, console = browse(out / "index.html", f"#hover=ngram-char-6:{i}")
    tip = dom.split('id="tooltip"')[1].split("</section>")[0]
    assert not console and "hidden" not in tip.split(">")[0]
    assert f"{view['char_bits'][i]:.2f} bits for this character" in tip
    assert tip.count("<li>") == 5 and f"{token['top'][0][1]:.2f} bits" in tip
