# The two commands that do everything on a fresh machine:
#   make compare   train and compare every family on the embedded corpus (results in runs/compare)
#   make test      ruff, then the default test run
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The current directory must never be on sys.path, or `models`/`datasets` would shadow.
export PYTHONSAFEPATH := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1
DATA_DIR ?= ../shared/corpora

.PHONY: install test test-all test-jax lint compare lessons notebooks bench bench-summary bench-all clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# Two worker processes, a test file each at a time (module fixtures train once): 11 min instead of 18 on 2 cores.
# The report page's browser test needs Debian's chromium: installed here when possible, never failing
# the target (tests/test_report.py skips its browser tests, with the reason, where it is missing).
test: lint
	command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null 2>&1 || true
	$(BIN)/pytest -q -n 2 --dist loadfile

test-all: lint
	LMZOO_DATA=$(DATA_DIR) $(BIN)/pytest -q -m ""

# Every Keras family's model tests on the JAX backend, and data parallelism over 2 host devices.
# Tests that cannot run on JAX are skipped in their files with the reason (see README).
JAX_TESTS := tests/test_transformer.py tests/test_rnnlm.py tests/test_seq2seq.py tests/test_word2vec.py \
	tests/test_gpt2.py tests/test_finetune.py
$(VENV)/.installed-jax: $(STAMP)
	$(BIN)/pip install -q -e ".[test,jax]"
	touch $@

test-jax: $(VENV)/.installed-jax
	KERAS_BACKEND=jax $(BIN)/pytest -q $(JAX_TESTS)
	$(BIN)/pytest -q tests/test_distribute.py -k jax

compare: $(STAMP)
	$(BIN)/lmzoo compare --corpus lee --out runs/compare

lessons: $(STAMP)
	LMZOO_DATA=$(DATA_DIR) $(BIN)/python benchmarks/lessons_full.py --force

# Each lesson executed as a notebook in quick mode, with its figures inline (docs/notebooks/*.ipynb, committed
# and linked from the README), and its key figure beside it; about 10 min on 2 CPU cores. The kernels run in
# runs/notebooks. tests/test_lessons.py checks that each notebook's cells are still its lesson's.
KEY_FIGURES := 00_text_to_tokens/vocabulary_vs_oov 01_ngram/sparsity 01b_neural_bigram/loss_seen_vs_unseen_context \
	02_word2vec/pca_words 03_seq2seq_autoencoder/data_flow 03b_recurrent_lm/ptb_lstm_against_mkn5 \
	04_attention/positional_encoding 05_transformer_lm/bits_per_char 06_generation_and_gpt2/decoding_strategies \
	07_compare/bits_against_training_tokens 08_pretrain_finetune/benchmark_accuracy_vs_labels
notebooks: $(STAMP)
	mkdir -p docs/notebooks
	for f in lessons/[0-9]*.py; do echo "== $$f"; $(BIN)/python -c 'import sys, nbformat; \
	from lmzoo.lesson import execute_notebook; nbformat.write(execute_notebook(sys.argv[1], "runs/notebooks"), sys.argv[2])' \
	$$f docs/notebooks/$$(basename $$f .py).ipynb || exit 1; done
	for k in $(KEY_FIGURES); do cp runs/notebooks/$$k.png docs/notebooks/$${k%%/*}.png; done

# The peers the benchmarks race (PyTorch for nanoGPT, KenLM, nltk): the `bench` extra.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	touch $@

# The peer races (about 15 min on 2 idle cores: word2vec vs gensim, the Transformer vs nanoGPT to
# nanoGPT's loss and at nanoGPT's settings, n-grams vs KenLM), each writing its results file, then one
# table of the pairs read from those files. A peer that is not installed is said in one line by its
# benchmark and by the table.
RACES := word2vec "transformer_shakespeare --preset speedrun" transformer_shakespeare ngram_ptb
bench: $(VENV)/.bench-installed
	for f in $(RACES); do echo "== benchmarks/$$f"; set -- $$f; \
		LMZOO_DATA=$(DATA_DIR) $(BIN)/python benchmarks/$$1.py $${@:2} --data-dir $(DATA_DIR) || exit 1; done
	$(BIN)/python benchmarks/summary.py

bench-summary:
	$(BIN)/python benchmarks/summary.py

# Every benchmark, the long ones too (rnnlm_ptb about 20 min, finetune hours).
bench-all: $(VENV)/.bench-installed
	for f in benchmarks/*.py; do [ $$f = benchmarks/summary.py ] && continue; echo "== $$f"; \
		args=$$(grep -q -- '"--data-dir"' $$f && echo "--data-dir $(DATA_DIR)"); \
		LMZOO_DATA=$(DATA_DIR) $(BIN)/python $$f $$args || exit 1; done
	$(BIN)/python benchmarks/summary.py

clean:
	rm -rf runs build *.egg-info
