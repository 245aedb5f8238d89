"""Learning-rate schedules and the one AdamW factory: every decay in the zoo is built here.

Each schedule is a function of the optimizer's step, so a resumed run continues it where it stopped.

- `WarmupCosineDecay`: nanoGPT's `get_lr` (linear warm-up, cosine decay to a floor, then flat),
  used by the window LMs (rnnlm, Transformer) through `make_optimizer`.
- `cosine_decay`: Keras's `CosineDecay` (no warm-up) to a fraction `alpha` of the peak (seq2seq,
  fine-tuned translators; Loshchilov & Hutter 2017, "SGDR").
- `linear_decay`: the word2vec rate, falling linearly to a floor (Mikolov et al. 2013's C code).

Example:
    >>> [round(float(linear_decay(0.025, 1e-4, 100)(s)), 6) for s in (0, 50, 100)]
    [0.025, 0.01255, 0.0001]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from lmzoo.errors import LmzooError

Schedule = keras.optimizers.schedules.LearningRateSchedule


# Registered as "lmzoo>WarmupCosineDecay" (the name it had in window_lm), so saved optimizers still load.
@keras.saving.register_keras_serializable(package="lmzoo")
class WarmupCosineDecay(Schedule):
    """Linear warm-up to `peak`, then cosine decay to `floor` at `decay_steps`, then flat.

    nanoGPT's `get_lr`: lr = peak * (step + 1) / (warmup + 1) during warm-up.

    Example:
        >>> schedule = WarmupCosineDecay(1e-3, 1e-4, warmup_steps=100, decay_steps=2000)
        >>> [round(float(schedule(s)), 6) for s in (0, 99, 2000)]
        [1e-05, 0.00099, 0.0001]
    """

    def __init__(self, peak: float, floor: float, warmup_steps: int, decay_steps: int):
        self.peak, self.floor = peak, floor
        self.warmup_steps, self.decay_steps = warmup_steps, decay_steps

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        warmup = self.peak * (step + 1.0) / (self.warmup_steps + 1.0)
        span = max(1.0, float(self.decay_steps - self.warmup_steps))
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = self.floor + 0.5 * (self.peak - self.floor) * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warmup, cosine)

    def get_config(self) -> dict:
        return {"peak": self.peak, "floor": self.floor, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps}


def cosine_decay(peak: float, decay_steps: int, alpha: float) -> Schedule:
    """Cosine decay from `peak` to `alpha * peak` over `decay_steps` (at least 1), then flat; no warm-up.

    Example:
        >>> schedule = cosine_decay(1e-3, 10, alpha=0.1)
        >>> round(float(schedule(0)), 6), round(float(schedule(10)), 6)
        (0.001, 0.0001)
    """
    return keras.optimizers.schedules.CosineDecay(peak, decay_steps=max(1, decay_steps), alpha=alpha)


def linear_decay(peak: float, floor: float, decay_steps: int) -> Schedule:
    """From `peak` down to `floor` in a straight line over `decay_steps`, then flat (word2vec's rate)."""
    return keras.optimizers.schedules.PolynomialDecay(peak, decay_steps=decay_steps, end_learning_rate=floor,
                                                      power=1.0)


def check_optimizer_fields(config: Any) -> None:
    """One LmzooError naming the field when `make_optimizer` cannot use `config` (a config's `validate` calls it).

    Example:
        >>> from types import SimpleNamespace
        >>> check_optimizer_fields(SimpleNamespace(steps=10, warmup_steps=2, learning_rate=1e-3,
        ...                                        min_learning_rate=1e-2, clipnorm=1.0))
        Traceback (most recent call last):
        ...
        lmzoo.errors.LmzooError: need 0 < min_learning_rate=0.01 <= learning_rate=0.001
    """
    if config.steps < 0 or config.warmup_steps < 0:
        raise LmzooError(f"steps={config.steps} and warmup_steps={config.warmup_steps} must be >= 0")
    if not 0 < config.min_learning_rate <= config.learning_rate:
        raise LmzooError(f"need 0 < min_learning_rate={config.min_learning_rate} <= learning_rate={config.learning_rate}")
    if config.clipnorm < 0:
        raise LmzooError(f"clipnorm={config.clipnorm} must be >= 0 (0: no clipping)")


def make_optimizer(config: Any, variables: Sequence[Any], exclude_names: Sequence[str] = ()) -> keras.optimizers.Optimizer:
    """AdamW as nanoGPT configures it (or SGD), on `WarmupCosineDecay`, clipping the global gradient norm.

    Reads `learning_rate`, `min_learning_rate`, `warmup_steps`, `steps`, `weight_decay` and
    `clipnorm` (0: none) from `config`, and where it has them `optimizer` ("adamw" or "sgd"),
    `beta_1`, `beta_2` and `epsilon`. Weight decay skips tensors of fewer than 2 dims and any
    variable whose name holds one of `exclude_names`.
    """
    schedule = WarmupCosineDecay(config.learning_rate, config.min_learning_rate, config.warmup_steps,
                                 max(config.steps, config.warmup_steps + 1))
    clip = config.clipnorm or None
    if getattr(config, "optimizer", "adamw") == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, global_clipnorm=clip)
    moments = {name: getattr(config, name) for name in ("beta_1", "beta_2", "epsilon") if hasattr(config, name)}
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay, global_clipnorm=clip,
                                       **moments)
    optimizer.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2],
                                        var_names=list(exclude_names) or None)
    return optimizer
