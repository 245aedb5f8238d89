"""Layers shared by families and tasks (which never import each other): the GRU encoder–decoder.

`recurrent`: `GRUEncoderDecoder` (the seq2seq autoencoder's and the translator's encoder, decoder and
decoder step) and `AdditiveAttention` (Bahdanau et al. 2015).
"""

from lmzoo.models.layers.recurrent import AdditiveAttention, GRUEncoderDecoder

__all__ = ["AdditiveAttention", "GRUEncoderDecoder"]
