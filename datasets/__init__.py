"""Text in, batches out: the corpus catalog and loader, tokenizers, and tf.data batching.

Imported as `lmzoo.datasets` (never as bare `datasets`, which is Hugging Face's package).
"""

from lmzoo.datasets.catalog import CATALOG
from lmzoo.datasets.corpus import Corpus, list_corpora, load_corpus, split_sentences
from lmzoo.datasets.download import data_dir
from lmzoo.datasets.tokenizers import fit_tokenizer, load_tokenizer

__all__ = ["CATALOG", "Corpus", "data_dir", "fit_tokenizer", "list_corpora", "load_corpus", "load_tokenizer", "split_sentences"]
