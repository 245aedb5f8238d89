"""The window-LM trainer, its model base class, the schedules and the run lifecycle (issue 22's redesign)."""

import dataclasses
import math

import keras
import numpy as np
import pytest

from lmzoo.models import callbacks, schedules, window_lm
from lmzoo.runs import RunDir

# The fields `train_window_lm` reads, and nothing else.
TRAINER_FIELDS = {"tokenizer": "char", "vocabulary_size": 2000, "min_count": 1, "hidden_dim": 8, "context": 8,
                  "batch_size": 4, "steps": 4, "learning_rate": 1e-2, "min_learning_rate": 1e-3, "warmup_steps": 1,
                  "weight_decay": 0.0, "clipnorm": 1.0, "eval_every": 2, "eval_batches": 1, "jit_compile": False,
                  "tensorboard": False, "distribute": "none", "seed": 0}
BigramConfig = dataclasses.make_dataclass(
    "BigramConfig", [(name, type(value), dataclasses.field(default=value)) for name, value in TRAINER_FIELDS.items()],
    frozen=True)


@keras.saving.register_keras_serializable(package="lmzoo_test")
class BigramNetwork(keras.Model):
    """The smallest window LM: each token's embedding predicts the next."""

    def __init__(self, vocabulary_size: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.hidden_dim = vocabulary_size, hidden_dim
        self.embedding = keras.layers.Embedding(vocabulary_size, hidden_dim)
        self.projection = keras.layers.Dense(vocabulary_size)

    def call(self, ids, training=None):
        return self.projection(self.embedding(ids))

    def token_embedding_matrix(self):
        return keras.ops.convert_to_numpy(self.embedding.embeddings)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "hidden_dim": self.hidden_dim}


class BigramLM(window_lm.WindowLM):
    family = "bigram"
    config_cls = BigramConfig
    network_cls = BigramNetwork

    @classmethod
    def expected_network(cls, config, vocabulary_size):
        return {"vocabulary_size": vocabulary_size, "hidden_dim": config.hidden_dim}


def build_bigram(config, vocabulary_size):
    network = BigramNetwork(vocabulary_size, config.hidden_dim)
    network(np.zeros((1, 2), "int32"))
    return network


def test_a_family_of_a_network_and_a_prepare_hook_trains_resumes_and_reloads(lee, tmp_path, monkeypatch):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    epochs_seen, finished = [], []

    def prepare(model, run, train_ids, valid_ids):
        assert isinstance(model, BigramLM) and train_ids[0] == window_lm.BOS and len(valid_ids) > 0
        seen = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))
        return window_lm.TrainingPlan(callbacks=[seen], after_fit=lambda: finished.append(True))

    original = callbacks.training_callbacks
    monkeypatch.setattr(callbacks, "training_callbacks", lambda *a, **k: [*original(*a, **k), Interrupt()])

    def train():  # as `lmzoo.train` runs a family
        with RunDir(tmp_path).training("bigram", dataclasses.asdict(BigramConfig()), lee) as run:
            return window_lm.train_window_lm(BigramConfig(), lee, run, build_bigram, prepare, model_cls=BigramLM)

    with pytest.raises(KeyboardInterrupt):
        train()
    assert not finished and not RunDir(tmp_path).is_complete()
    monkeypatch.setattr(callbacks, "training_callbacks", original)
    model = train()
    assert int(model.network.optimizer.iterations) == 4 and finished == [True]
    assert [r["step"] for r in RunDir(tmp_path).read_metrics() if "epoch" in r] == [2, 4]
    assert RunDir(tmp_path).is_complete() and RunDir(tmp_path).file("MODEL_CARD.md").exists()
    loaded = BigramLM.load(RunDir(tmp_path))
    ids = np.array([model.tokenizer.encode("The cat")], "int32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.network(ids)),
                                  keras.ops.convert_to_numpy(model.network(ids)))
    assert loaded.word_vectors().vector_size == 8 and loaded.causal_network() is loaded.network
    assert loaded.num_params() == (model.tokenizer.vocabulary_size() * 8) * 2 + model.tokenizer.vocabulary_size()


def test_a_saved_network_that_does_not_match_the_config_is_one_line(lee, tmp_path):
    run = RunDir(tmp_path)
    window_lm.train_window_lm(BigramConfig(steps=1), lee, run, build_bigram, model_cls=BigramLM)
    run.write_config("bigram", dataclasses.asdict(BigramConfig(hidden_dim=16)))
    with pytest.raises(window_lm.LmzooError, match="does not match the run's config"):
        BigramLM.load(run)


def test_a_transformer_network_saved_with_the_old_max_length_key_still_loads(tmp_path):
    import zipfile

    from lmzoo.models.transformer import ScratchTransformerLM

    net = ScratchTransformerLM(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
                               context=12)
    old = net.get_config()
    old["max_length"] = old.pop("context")
    loaded = ScratchTransformerLM.from_config(old)
    assert loaded.context == 12 and not hasattr(loaded, "max_length")  # one name: the Backbone protocol reads context
    assert "max_length" not in net.get_config()
    # A whole .keras file as the Transformer saved it before the rename
    net(np.zeros((1, 3), "int32"))
    net.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as new, zipfile.ZipFile(tmp_path / "old.keras", "w") as saved:
        for item in new.infolist():
            content = new.read(item)
            if item.filename == "config.json":
                content = content.replace(b'"context": 12', b'"max_length": 12')
                assert b'"max_length": 12' in content
            saved.writestr(item, content)
    reloaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True, compile=False)
    ids = np.array([[4, 5, 6]], "int32")
    assert reloaded.context == 12
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(ids)), keras.ops.convert_to_numpy(net(ids)))


STEPS = [0, 1, 5, 9, 10, 11, 50]


@pytest.mark.parametrize("steps", [10, 1])
def test_the_schedules_are_the_formulas_they_replaced(steps):
    from lmzoo.models.tasks.config import FinetuneConfig
    from lmzoo.models.tasks.translate import learning_rate
    from lmzoo.models.word2vec.config import Word2VecConfig
    from lmzoo.models.word2vec.training import learning_rate as word2vec_rate

    def values(schedule):
        return [float(keras.ops.convert_to_numpy(schedule(s))) for s in STEPS]

    # seq2seq's inline decay and translate's, bit for bit
    cosine = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps, alpha=0.1)
    assert values(schedules.cosine_decay(3e-3, steps, alpha=0.1)) == values(cosine)
    finetune = FinetuneConfig(task="translate", learning_rate=1e-3, min_learning_rate=1e-4)
    assert values(learning_rate(finetune, steps)) == values(keras.optimizers.schedules.CosineDecay(1e-3, steps, alpha=0.1))
    # word2vec's linear decay
    config = Word2VecConfig()
    linear = keras.optimizers.schedules.PolynomialDecay(config.learning_rate, decay_steps=steps,
                                                        end_learning_rate=config.min_learning_rate, power=1.0)
    assert values(word2vec_rate(config, steps)) == values(linear)
    # nanoGPT's get_lr, in float64
    peak, floor, warmup = 1e-3, 1e-4, 3
    for step, value in zip(STEPS, values(schedules.WarmupCosineDecay(peak, floor, warmup, steps + warmup)), strict=True):
        if step < warmup:
            expected = peak * (step + 1) / (warmup + 1)
        else:
            progress = min(1.0, (step - warmup) / max(1, steps))
            expected = floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))
        assert value == pytest.approx(expected, rel=1e-6)


def test_the_schedule_keeps_its_saved_name():
    schedule = schedules.WarmupCosineDecay(1e-3, 1e-4, 2, 10)
    saved = keras.saving.serialize_keras_object(schedule)
    assert saved["registered_name"] == "lmzoo>WarmupCosineDecay"  # the name optimizers were saved with
    assert keras.saving.deserialize_keras_object(saved).get_config() == schedule.get_config()


def test_a_nested_lock_is_released_by_the_block_that_took_it(tmp_path):
    run = RunDir(tmp_path)
    with run.locked():
        with run.locked():
            pass
        with pytest.raises(window_lm.LmzooError, match="in use by another lmzoo run"):
            RunDir(tmp_path).lock()  # still held: the inner block did not take it
    with RunDir(tmp_path).locked():
        pass


def test_the_lifecycle_writes_a_card_only_for_a_finished_run_and_always_releases_the_lock(tmp_path):
    class Text:
        name = "toy"

        def fingerprint(self):
            return {"sha256": "0"}

    with pytest.raises(RuntimeError), RunDir(tmp_path).training("unigram", {"add_k": 1.0}, Text()):
        raise RuntimeError("training failed")
    assert not RunDir(tmp_path).file("MODEL_CARD.md").exists()
    with RunDir(tmp_path).training("unigram", {"add_k": 1.0}, Text()) as run:
        assert run.read_config()["config"] == {"add_k": 1.0}
        run.mark_complete()
    assert run.file("MODEL_CARD.md").exists()
    with pytest.raises(window_lm.LmzooError, match="already holds a finished unigram run"):
        with RunDir(tmp_path).training("unigram", {"add_k": 1.0}, Text()):
            pass


@pytest.mark.parametrize("family", ["rnnlm", "transformer"])
@pytest.mark.parametrize("field,value,message", [("clipnorm", -1.0, "clipnorm=-1.0 must be >= 0"),
                                                 ("min_learning_rate", 1.0, "need 0 < min_learning_rate=1.0"),
                                                 ("warmup_steps", -1, "warmup_steps=-1 must be >= 0")])
def test_both_window_lms_refuse_what_the_optimizer_cannot_use(family, field, value, message):
    from lmzoo.config import replace
    from lmzoo.families import get_family

    with pytest.raises(window_lm.LmzooError, match=message):  # the Transformer had no clipnorm check
        replace(get_family(family).presets["quick"], {field: value})
