"""Frozen-dataclass configs: presets, `--set key=value` overrides with type checks, JSON round trip."""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar

from lmzoo.errors import LmzooError, did_you_mean

C = TypeVar("C")
# What users of any command line type for a boolean, case-insensitive.
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """Return `value` coerced to `annotation`, or raise LmzooError naming the key."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise LmzooError(f"--set {name}={value!r} is not allowed", f"use one of {', '.join(map(repr, allowed))}")
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arm in typing.get_args(annotation):
            if arm is type(None):
                if value is None:
                    return None
                continue
            try:
                return _check_type(name, value, arm)
            except LmzooError as err:
                errors.append(str(err))
        raise LmzooError(errors[0] if errors else f"--set {name}: bad value {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise LmzooError(f"--set {name}={value!r} must be a sequence", "write it like (1, 2)")
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return origin(_check_type(name, v, args[0]) for v in value) if args else origin(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is bool and not isinstance(value, bool):
        word = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if word in _BOOLEANS:
            return _BOOLEANS[word]
        raise LmzooError(f"--set {name}={value!r} must be bool", "write true/false, yes/no or 1/0")
    if annotation in (int, float, str, bool) and not isinstance(value, annotation):
        raise LmzooError(f"--set {name}={value!r} must be {annotation.__name__}")
    if annotation is int and isinstance(value, bool):
        raise LmzooError(f"--set {name}={value!r} must be int")
    return value


def require_at_least_one(config: Any, names: Iterable[str]) -> None:
    """Raise a one-line LmzooError for the first of `names` whose value in `config` is below 1.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class C:
        ...     steps: int = 0
        >>> try:
        ...     require_at_least_one(C(), ["steps"])
        ... except LmzooError as err:
        ...     print(err.args[0])
        steps=0 must be >= 1
    """
    for name in names:
        if getattr(config, name) < 1:
            raise LmzooError(f"{name}={getattr(config, name)} must be >= 1")


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of each field of dataclass `cls`."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def replace(config: C, overrides: Mapping[str, Any]) -> C:
    """Copy of `config` with `overrides` applied, each checked against the field's type.

    Example:
        >>> from lmzoo.models.unigram import UnigramConfig
        >>> replace(UnigramConfig(), {"add_k": 0.5}).add_k
        0.5
    """
    types_ = field_types(type(config))
    checked = {}
    for key, value in overrides.items():
        if key in getattr(type(config), "RENAMED", {}):
            raise LmzooError(f"config key '{key}' is now '{type(config).RENAMED[key]}'",
                             f"write --set {type(config).RENAMED[key]}={value!r}")
        if key not in types_:
            raise LmzooError(f"unknown config key '{key}' for {type(config).__name__}", did_you_mean(key, types_))
        checked[key] = _check_type(key, value, types_[key])
    new = dataclasses.replace(config, **checked)
    validate = getattr(new, "validate", None)
    if validate is not None:
        validate()
    return new


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Parse `key=value` strings; values are Python literals, else plain strings.

    Example:
        >>> parse_overrides(["order=5", "smoothing=modified-kneser-ney"])
        {'order': 5, 'smoothing': 'modified-kneser-ney'}
    """
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise LmzooError(f"--set {pair!r} is not key=value", "write it like --set order=3")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        out[key.strip()] = value
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(config)


def rename_keys(data: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """`data` with each old key of `renamed` ({old: new}) under its new name.

    A config class lists its renamed fields in `RENAMED`; `from_dict` applies it, so a run directory
    written before a rename still loads.

    Example:
        >>> rename_keys({"max_length": 20, "seed": 0}, {"max_length": "context"})
        {'seed': 0, 'context': 20}
    """
    out = dict(data)
    for old, new in renamed.items():
        if old in out:
            if new in out:
                raise LmzooError(f"both '{old}' and its new name '{new}' are set", f"keep only '{new}'")
            out[new] = out.pop(old)
    return out


def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
    """Rebuild a config from `to_dict` output (tuples come back from JSON lists; renamed keys mapped)."""
    return replace(cls(), rename_keys(data, getattr(cls, "RENAMED", {})))
