"""Model families, one file each, in historical order: unigram → ngram → word2vec → seq2seq → transformer.

Each family file has the same sections: docstring, `Config` dataclass and `PRESETS`, the model,
`train(config, corpus, run)`, `load(run)`, and `FAMILY`. See `lmzoo.protocols` for which
capabilities (LanguageModel, Generator, Embedder, Reconstructor) each family implements.
Shared pieces: `sampling` (decoding strategies over any next-token function), `callbacks`
(Keras callbacks writing metrics.jsonl) and `layers` (the GRU encoder–decoder of seq2seq and the tasks).
"""
