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
