"""The pre-trained run's network, copied (fine-tuning) or re-initialised (the from-scratch baseline)."""

from __future__ import annotations

import keras
import numpy as np

from lmzoo.datasets.tokenizers import SPECIALS


def fresh(model: keras.Model) -> keras.Model:
    """The same architecture with new random weights (the from-scratch baseline)."""
    clone = keras.models.clone_model(model)
    for name in ("causal", "context"):
        if hasattr(model, name) and not hasattr(clone, name):
            setattr(clone, name, getattr(model, name))
    return clone


def copy_weights(model: keras.Model) -> keras.Model:
    """The same architecture with the same weights, so that fine-tuning leaves the pre-trained run as it is."""
    clone = fresh(model)
    clone(np.full((1, 2), len(SPECIALS), np.int32))  # build: creates the weights to copy into
    clone.set_weights(model.get_weights())
    return clone

