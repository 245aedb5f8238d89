"""`--set key=value` parsing and type checks against the config dataclass."""

import pytest

from lmzoo.config import from_dict, parse_overrides, replace, to_dict
from lmzoo.errors import LmzooError
from lmzoo.models.unigram import UnigramConfig


def test_parse_and_replace():
    overrides = parse_overrides(["add_k=0.5", "tokenizer=char", "min_count=2"])
    config = replace(UnigramConfig(), overrides)
    assert (config.add_k, config.tokenizer, config.min_count) == (0.5, "char", 2)
    assert from_dict(UnigramConfig, to_dict(config)) == config


@pytest.mark.parametrize("pairs, message", [
    (["add_kk=1"], "did you mean 'add_k'"), (["tokenizer=bpe"], "use one of"), (["min_count=two"], "must be int"),
    (["add_k=-1"], "must be >= 0"), (["novalue"], "not key=value"),
])
def test_bad_overrides(pairs, message):
    with pytest.raises(LmzooError, match=message):
        replace(UnigramConfig(), parse_overrides(pairs))


@pytest.mark.parametrize("raw, expected", [("true", True), ("True", True), ("YES", True), ("1", True),
                                           ("false", False), ("No", False), ("0", False), ("FALSE", False)])
def test_booleans_accept_what_users_type(raw, expected):
    from lmzoo.models.seq2seq import Seq2SeqConfig

    assert replace(Seq2SeqConfig(), parse_overrides([f"attention={raw}"])).attention is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "1.0", "[1]"])
def test_other_values_for_a_boolean_are_refused(raw):
    from lmzoo.models.seq2seq import Seq2SeqConfig

    with pytest.raises(LmzooError, match="must be bool; write true/false"):
        replace(Seq2SeqConfig(), parse_overrides([f"attention={raw}"]))


def test_a_renamed_key_still_loads_and_names_its_new_name():
    """seq2seq's `max_length` became `context`: a config.json written before still loads; `--set` names the new key."""
    from lmzoo.models.seq2seq import Seq2SeqConfig

    assert from_dict(Seq2SeqConfig, {"max_length": 12, "latent_dim": 32}) == Seq2SeqConfig(context=12, latent_dim=32)
    with pytest.raises(LmzooError, match="config key 'max_length' is now 'context'"):
        replace(Seq2SeqConfig(), {"max_length": 12})
    with pytest.raises(LmzooError, match="both 'max_length' and its new name 'context'"):
        from_dict(Seq2SeqConfig, {"max_length": 12, "context": 20})
