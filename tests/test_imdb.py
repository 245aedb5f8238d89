"""IMDB: review cleaning, splitting on \\n only, the archive download, and review-level disjoint splits."""

import dataclasses
import hashlib
import io
import tarfile

import pytest

from lmzoo.datasets import imdb
from lmzoo.datasets.catalog import CATALOG
from lmzoo.errors import LmzooError


def test_line_breaks_become_one_space():
    assert imdb.clean_review("One.<br /><br />Two.<br/>Three.<BR>Four. <br /> Five.") == "One. Two. Three. Four. Five."


@pytest.mark.parametrize("raw, meant", [("\x85", "…"), ("\x91", "‘"), ("\x92", "’"), ("\x93", "“"), ("\x94", "”"),
                                        ("\x95", "•"), ("\x96", "–"), ("\x97", "—"), ("\x8d", "")])
def test_c1_controls_are_the_windows_1252_characters_they_stand_for(raw, meant):
    assert imdb.clean_review(f"a{raw}b") == f"a{meant}b"


def test_entities_are_decoded_and_text_is_nfc():
    assert imdb.clean_review("Tom &amp; Jerry &#151; cafe\u0301") == "Tom & Jerry — caf\u00e9"


def test_reviews_are_split_on_newline_only(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes("first review\u0085 still the first\nsecond\u2028 review\n\n".encode())
    assert imdb.read_reviews(path) == ["first review… still the first", "second\u2028 review"]
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5  # what splitlines() would have made of it


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_archive_members_become_lines_in_id_order():
    archive = _archive({"aclImdb/train/unsup/10_0.txt": b"ten\r\nlines", "aclImdb/train/unsup/9_0.txt": b"nine",
                        "aclImdb/train/pos/1_8.txt": b"other folder", "aclImdb/train/unsup/README": b"x"})
    assert imdb.archive_lines(archive, "train/unsup") == b"nine\nten  lines\n"
    with pytest.raises(LmzooError, match="no reviews"):
        imdb.archive_lines(archive, "test/neg")


def _fake_entry(name: str, contents: dict[str, bytes], url: str = "http://127.0.0.1:9/none"):
    entry = CATALOG[name]
    files = tuple(dataclasses.replace(f, sha256=hashlib.sha256(contents[f.path]).hexdigest(), urls=(url,))
                  for f in entry.files)
    return dataclasses.replace(entry, files=files)


FOLDERS = {"imdb/imdb_train_unsup.txt": "train/unsup", "imdb/imdb_train_pos.txt": "train/pos",
           "imdb/imdb_train_neg.txt": "train/neg", "imdb/imdb_test_pos.txt": "test/pos",
           "imdb/imdb_test_neg.txt": "test/neg"}


def _contents(per_file: int = 12) -> dict[str, bytes]:
    files = {path: [f"{folder} review {i}<br />line two \x96 ok" for i in range(per_file)]
             for path, folder in FOLDERS.items()}
    files["imdb/imdb_train_pos.txt"][0] = "A test review, REPEATED."  # a training copy of a test review
    files["imdb/imdb_train_unsup.txt"][1] = "a test review,   repeated."  # and an unlabelled one
    files["imdb/imdb_train_unsup.txt"][2] = files["imdb/imdb_train_unsup.txt"][3]  # a repeat inside unsup
    files["imdb/imdb_test_neg.txt"][0] = "a test review, repeated."
    return {path: "".join(line + "\n" for line in lines).encode() for path, lines in files.items()}


def test_download_writes_the_five_files_from_one_checked_archive(http_server, tmp_path):
    contents = _contents()
    archive = _archive({f"aclImdb/{FOLDERS[path]}/{i}_7.txt": line
                        for path, data in contents.items() for i, line in enumerate(data.splitlines())})
    www, url = http_server
    (www / "aclImdb_v1.tar.gz").write_bytes(archive)
    entry = _fake_entry("imdb-unsup", contents, f"{url}/aclImdb_v1.tar.gz")
    with pytest.raises(LmzooError, match="checksum mismatch"):
        imdb.download_archive(entry.files, tmp_path / "data", f"{url}/aclImdb_v1.tar.gz", sha256="0" * 64)
    assert not (tmp_path / "data").exists()
    imdb.download_archive(entry.files, tmp_path / "data", f"{url}/aclImdb_v1.tar.gz",
                          sha256=hashlib.sha256(archive).hexdigest())
    assert {p: (tmp_path / "data" / p).read_bytes() for p in FOLDERS} == contents


def _data_dir(tmp_path, contents):
    for path, data in contents.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    return tmp_path


def test_splits_are_disjoint_at_the_review_level(tmp_path):
    contents = _contents()
    directory = _data_dir(tmp_path, contents)
    entry = dataclasses.replace(_fake_entry("imdb-unsup", contents), extra={**CATALOG["imdb-unsup"].extra,
                                                                            "split": {"test": 2, "valid": 2}})
    corpus = imdb.load_text(entry, directory, allow_download=False)
    parts = {s: [imdb.normalise(r) for r in getattr(corpus, s).split("\n") if r] for s in ("train", "valid", "test")}
    everything = [r for reviews in parts.values() for r in reviews]
    assert len(everything) == len(set(everything)) == 12 - 2  # one repeat and one test review dropped
    assert "a test review, repeated." not in everything
    assert "–" in corpus.train and "<br" not in corpus.train

    entry = dataclasses.replace(_fake_entry("imdb", contents), extra={**CATALOG["imdb"].extra, "split": {"valid": 2}})
    labelled = imdb.load_labelled(entry, directory, allow_download=False)
    assert (len(labelled.test), len(labelled.valid), len(labelled.train)) == (24, 2, 21)
    test = {imdb.normalise(t) for t, _ in labelled.test}
    assert not test & {imdb.normalise(t) for t, _ in labelled.train + labelled.valid}


def test_a_corrupt_file_is_refused(tmp_path):
    contents = _contents()
    directory = _data_dir(tmp_path, contents)
    (directory / "imdb/imdb_test_pos.txt").write_bytes(b"changed\n")
    with pytest.raises(LmzooError, match="checksum mismatch"):
        imdb.load_text(_fake_entry("imdb-unsup", contents), directory, allow_download=False)


@pytest.mark.slow
def test_real_imdb(shared_corpora):
    from lmzoo.datasets import load_corpus
    from lmzoo.datasets.labelled import load_task_data

    raw = (shared_corpora / "imdb/imdb_train_unsup.txt").read_text(encoding="utf-8")
    assert raw.count("\n") == 50_000 and len(raw.splitlines()) == 51_520
    corpus = load_corpus("imdb-unsup", shared_corpora)
    assert corpus.test.count("\n") == corpus.valid.count("\n") == 1000
    assert not any(0x80 <= ord(ch) < 0xA0 for ch in corpus.train) and "<br" not in corpus.train.lower()
    data = load_task_data("imdb", shared_corpora)
    assert len(data.test) == 25_000 and len(data.valid) == 2_500
