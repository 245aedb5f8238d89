"""The corpus catalog, loader, downloads (against a local HTTP server) and input validation."""

import hashlib
import json

import pytest

from lmzoo.datasets import CATALOG, load_corpus
from lmzoo.datasets.catalog import CorpusFile
from lmzoo.datasets.download import download, ensure_file, poems_json_to_lines, sha256_of
from lmzoo.errors import LmzooError


def test_catalog_entries_are_complete():
    for entry in CATALOG.values():
        assert entry.licence and entry.split_rule and set(entry.splits) == {"train", "valid", "test"}
        for file in entry.files:
            assert len(file.sha256) == 64 and file.urls and all(u.startswith("https://") for u in file.urls)
        assert entry.embedded or entry.files


def test_lee_is_embedded_and_split_deterministically(lee):
    again = load_corpus("lee")
    assert (lee.train, lee.valid, lee.test) == (again.train, again.valid, again.test)
    lines = [len(s.splitlines()) for s in (lee.train, lee.valid, lee.test)]
    assert lines == [240, 30, 30]  # 300 articles: 80/10/10 by lines
    assert lee.train.splitlines()[0].startswith("Hundreds of people")
    assert not set(lee.train.splitlines()) & set(lee.test.splitlines())


def test_shared_corpora_load_and_verify(shared_corpora):
    shakespeare = load_corpus("tinyshakespeare", shared_corpora)
    n = len(shakespeare.train) + len(shakespeare.valid)
    assert n == 1115394 and len(shakespeare.train) == int(n * 0.9)  # nanoGPT's 90% split
    ptb = load_corpus("ptb", shared_corpora)
    assert len(ptb.test.split()) + len(ptb.test.splitlines()) == 82430  # Mikolov's count with </s>
    poems = load_corpus("tang-poems", shared_corpora)
    assert poems.language == "zh" and len(poems.train.splitlines()) == 1600


def test_poems_converter_reproduces_the_published_file(shared_corpora):
    raw = (shared_corpora / "chinese-poetry" / "tangshi300.json").read_bytes()
    text = poems_json_to_lines(raw)
    assert hashlib.sha256(text.encode()).hexdigest() == sha256_of(shared_corpora / "chinese-poetry" / "tangshi300.txt")


def _served(root, base, name, data: bytes, sha=None):
    (root / name).write_bytes(data)
    return CorpusFile(f"c/{name}", sha or hashlib.sha256(data).hexdigest(), len(data), (f"{base}/{name}",))


def test_download_verifies_and_writes_atomically(http_server, tmp_path, capsys):
    root, base = http_server
    file = _served(root, base, "a.txt", b"hello world\n" * 1000)
    path = ensure_file(file, tmp_path / "data")
    assert path.read_bytes() == (root / "a.txt").read_bytes()
    assert "downloading a.txt" in capsys.readouterr().err  # progress bar
    assert not list(path.parent.glob("*.part"))
    assert ensure_file(file, tmp_path / "data") == path  # second call: found and verified, no download


def test_download_checksum_mismatch_leaves_nothing(http_server, tmp_path):
    root, base = http_server
    file = _served(root, base, "b.txt", b"some bytes", sha="0" * 64)
    with pytest.raises(LmzooError, match="checksum mismatch"):
        download(file, tmp_path / "data" / "b.txt")
    assert not (tmp_path / "data" / "b.txt").exists()
    assert not list((tmp_path / "data").glob("*"))


def test_download_of_a_poems_json_is_converted(http_server, tmp_path):
    root, base = http_server
    poems = [{"paragraphs": ["床前明月光，", "疑是地上霜。"]}, {"paragraphs": ["春眠不覺曉。"]}]
    (root / "p.json").write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    text = "床前明月光，疑是地上霜。\n春眠不覺曉。\n".encode()
    file = CorpusFile("p.txt", hashlib.sha256(text).hexdigest(), len(text), (f"{base}/p.json",), convert="poems-json")
    assert ensure_file(file, tmp_path).read_bytes() == text


def test_unreachable_download_says_where_to_put_the_file(tmp_path):
    file = CorpusFile("x/y.txt", "0" * 64, 1, ("http://127.0.0.1:9/y.txt",))
    with pytest.raises(LmzooError) as err:
        ensure_file(file, tmp_path)
    message = str(err.value)
    assert "could not be downloaded" in message and str(tmp_path / "x" / "y.txt") in message and "\n" not in message


def test_corrupt_local_file_is_a_checksum_error(tmp_path):
    (tmp_path / "ptb").mkdir()
    for split in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{split}.txt").write_text("not the real file\n")
    with pytest.raises(LmzooError, match="checksum mismatch"):
        load_corpus("ptb", tmp_path)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b"  \n\n", "is empty"), (b"\x00\x01\x02binary", "looks binary"), (b"caf\xe9 latin-1", "is not UTF-8"),
])
def test_bad_user_files(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(LmzooError, match=message):
        load_corpus(path)


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(LmzooError, match="does not exist"):
        load_corpus(tmp_path / "nope.txt")
    with pytest.raises(LmzooError, match="did you mean 'ptb'"):
        load_corpus("ptbb")


def test_user_folder_and_file(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join(f"line {i}" for i in range(8)) + "\n")
    (folder / "b.txt").write_text("line 8\nline 9\n")
    corpus = load_corpus(folder)
    assert corpus.train.splitlines() == [f"line {i}" for i in range(8)]
    assert corpus.test.splitlines() == ["line 9"]
    zh = tmp_path / "zh.txt"
    zh.write_text("我明天要去看电影。\n今天天气很好。\n他们在学习。\n", encoding="utf-8")
    assert load_corpus(zh).language == "zh"


# Splits never overlap, whatever the shape of a user's file --------------------------------------------------


@pytest.mark.parametrize("lines", [1, 2, 5, 9])
def test_a_short_user_file_is_split_by_characters_without_overlap(tmp_path, lines):
    words = [f"w{i:04d}" for i in range(400)]  # each word once, all of one length
    text = "\n".join(" ".join(words[j::lines]) for j in range(lines)) + "\n"  # each word once
    path = tmp_path / "short.txt"
    path.write_text(text)
    corpus = load_corpus(path)
    parts = [corpus.train, corpus.valid, corpus.test]
    assert all(p.strip() for p in parts) and "".join(parts) == text
    assert "characters" in corpus.source
    assert not set(corpus.train.split()) & set(corpus.test.split())


def test_a_text_too_short_to_split_is_refused(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("hi there\n")
    with pytest.raises(LmzooError, match="too short to split into train, valid and test"):
        load_corpus(path)


def test_many_lines_with_blank_tail_still_split_into_non_empty_parts(tmp_path):
    path = tmp_path / "tail.txt"
    path.write_text("".join(f"line {i} of the text\n" for i in range(10)) + "\n" * 40)
    corpus = load_corpus(path)
    assert all(corpus.split(s).strip() for s in ("train", "valid", "test"))


def test_a_nul_byte_anywhere_is_binary(tmp_path):
    path = tmp_path / "crashed.txt"
    path.write_bytes(b"a real line of text\n" * 5000 + b"\x00" * 4096)  # the zeros start after 64 KiB
    with pytest.raises(LmzooError, match="looks binary"):
        load_corpus(path)


def test_permission_errors_are_one_line(tmp_path, monkeypatch):
    path = tmp_path / "locked.txt"
    path.write_text("text\n" * 20)

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "read_bytes", denied)
    with pytest.raises(LmzooError, match="cannot read .*locked.txt' \\(Permission denied\\)"):
        load_corpus(path)


def test_literal_special_tokens_in_pretokenised_text_are_unknown_words():
    from lmzoo.datasets.tokenizers import UNK, WordTokenizer

    tok = WordTokenizer.fit("a <s> b </s> <pad> <unk> a b\n", split="whitespace")
    assert tok.encode("<s> a </s> <pad> <unk>") == [UNK, tok.index["a"], UNK, UNK, UNK, 3]
    assert tok.decode(tok.encode("a </s> b")).count("\n") == 1  # one line, not two


def test_a_run_reloads_its_own_file_not_a_catalog_corpus_of_the_same_stem(tmp_path):
    from lmzoo.datasets.corpus import reload_corpus

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "lee.txt").write_text("".join(f"my own line number {i}\n" for i in range(20)))
    corpus = load_corpus(folder / "lee.txt")
    again = reload_corpus(corpus.provenance())
    assert again.train == corpus.train and again.path == str((folder / "lee.txt").resolve())
    (folder / "lee.txt").write_text("changed\n" * 20)
    with pytest.raises(LmzooError, match="changed since the run was trained on it"):
        reload_corpus(corpus.provenance())
    assert reload_corpus({"corpus": "lee"}).train == load_corpus("lee").train
    with pytest.raises(LmzooError, match="does not record where its corpus 'mytext' came from"):
        reload_corpus({"corpus": "mytext"})


# Downloads fail in one line and leave nothing behind ----------------------------------------------------------


def test_an_html_page_instead_of_poems_json_is_a_checksum_error(http_server, tmp_path):
    root, base = http_server
    (root / "p.json").write_text("<html><body>rate limited</body></html>")
    file = CorpusFile("p.txt", "0" * 64, 1000, (f"{base}/p.json",), convert="poems-json")
    with pytest.raises(LmzooError, match="checksum mismatch for .*p.json: it is not chinese-poetry JSON"):
        ensure_file(file, tmp_path / "data")
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").iterdir())


def test_a_body_larger_than_the_catalog_size_is_refused(http_server, tmp_path):
    root, base = http_server
    file = _served(root, base, "big.txt", b"x" * 5000)
    file = CorpusFile(file.path, file.sha256, 100, file.urls)
    with pytest.raises(LmzooError, match="sends more than the 100 bytes the catalog expects"):
        download(file, tmp_path / "big.txt")
    assert not list(tmp_path.glob("big.txt*"))


def test_an_incomplete_read_is_one_line(monkeypatch, tmp_path):
    import http.client
    import urllib.request

    class Truncated:
        headers = {"Content-Length": "10"}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            raise http.client.IncompleteRead(b"abc", 7)

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Truncated())
    file = CorpusFile("t.txt", "0" * 64, 10, ("https://example.invalid/t.txt",))
    with pytest.raises(LmzooError, match="could not be downloaded .*IncompleteRead"):
        download(file, tmp_path / "t.txt")


def test_a_failed_move_leaves_no_part_file(http_server, tmp_path, monkeypatch):
    from lmzoo.datasets import download as download_module

    root, base = http_server
    file = _served(root, base, "c.txt", b"corpus text\n" * 10)

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(download_module.os, "replace", full_disk)
    with pytest.raises(LmzooError, match="No space left on device"):
        download(file, tmp_path / "data" / "c.txt")
    assert list((tmp_path / "data").iterdir()) == []


def test_windows_text_files_train_as_their_unix_twin(tmp_path):
    """Issue 22 defect 8: a UTF-8 BOM and CRLF line ends read exactly as `\\n` text; UTF-16 is decoded by
    its BOM; a Windows-1252 file is refused in one line that names the likely encoding."""
    from lmzoo.datasets import load_corpus
    from lmzoo.errors import LmzooError

    text = "".join(f"Line {i}: “quoted” café – naïve words here.\n" for i in range(40))
    unix = tmp_path / "unix.txt"
    unix.write_bytes(text.encode("utf-8"))
    variants = {"bom-crlf.txt": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"),
                "utf16.txt": text.replace("\n", "\r\n").encode("utf-16"),
                "utf16be.txt": b"\xfe\xff" + text.encode("utf-16-be")}
    expected = load_corpus(unix)
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        corpus = load_corpus(tmp_path / name)
        assert (corpus.train, corpus.valid, corpus.test, corpus.sha256) == (
            expected.train, expected.valid, expected.test, expected.sha256), name
    (tmp_path / "cp1252.txt").write_bytes(text.encode("cp1252"))
    with pytest.raises(LmzooError) as err:
        load_corpus(tmp_path / "cp1252.txt")
    assert "Windows-1252" in str(err.value) and "\n" not in str(err.value)
