"""Data-parallel training: the same steps on 2 replicas as on one device, and clear failures.

Each distributed run happens in fresh processes (TensorFlow fixes its devices and its
multi-worker setup when it starts): two logical CPU devices for "mirrored", two worker
processes on 127.0.0.1 for "multi-worker". Each trains a tiny model for a few steps with the
same global batch and seed as a single-device run in its own process, and the per-step losses
must agree to LOSS_RTOL = 1e-5: float32 sums taken in another order moved them by about 1e-7
here, while clipping each replica's share of the gradient (Keras's own behaviour, which
`distribute.ClipAfterAllReduce` corrects) moved them by 2e-4 to 4e-4. The chief's checkpoint then
reloads in this single-device process and scores text like the single-device model.
Every wait is bounded: subprocess timeouts here, and the collectives' timeout in the workers.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import lmzoo
from lmzoo.errors import LmzooError
from lmzoo.models import distribute

LOSS_RTOL = 1e-5
TIMEOUT = 600  # seconds for any one worker process: a bound for a hang, far above a run on a loaded machine
TEXT = "The fire spread quickly through the bush. Crews arrived."

# A clip norm that every step hits, so that clipping each replica's share would show.
TRANSFORMER = {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "context": 16, "batch_size": 8, "steps": 6,
               "eval_every": 3, "eval_batches": 1, "warmup_steps": 1, "learning_rate": 2e-2, "min_learning_rate": 2e-3,
     "clipnorm": 0.05, "jit_compile": False}
# One batch per pass: under a strategy Keras draws a batch from a first iterator to build the model,
# then starts a second one, and seq2seq's batch shuffle (reshuffled per iterator) then runs in
# another order. With one batch the order cannot differ, and the loss's global token count is
# what is tested (without it the replicas' gradients add up to twice the single-device one).
SEQ2SEQ = {"embedding_dim": 8, "latent_dim": 16, "max_sentences": 8, "batch_size": 8, "epochs": 6.0,
           "checkpoint_every_n_steps": 2, "monitor_sentences": 0}
# rnnlm with the sampled softmax (its own loss, outside Keras's compiled one): one set of negatives per
# step, drawn from the shared seed, so each replica draws the ones a single device draws.
RNNLM = {"cell": "gru", "num_layers": 1, "hidden_dim": 16, "context": 16, "batch_size": 8, "steps": 6, "eval_every": 3,
         "eval_batches": 1, "warmup_steps": 1, "learning_rate": 2e-2, "min_learning_rate": 2e-3, "clipnorm": 0.05,
         "sampled_softmax": 8}
# One step per compiled call, as word2vec trains under a strategy, so both runs take the same steps.
WORD2VEC = {"dimension": 8, "epochs": 1, "batch_size": 512, "min_count": 3, "jit_compile": False,
            "steps_per_execution": 1}

# One process trains several runs one after another (TensorFlow starts once per process, which on a
# loaded 2-core machine costs more than a tiny run). A run marked "refused" must fail with an
# LmzooError, whose one line is printed; any other error fails the process.
WORKER = r"""
import json, sys
spec = json.loads(sys.argv[1])
from lmzoo.models import distribute
if spec["devices"] > 1:
    distribute.use_logical_cpus(spec["devices"])
import lmzoo
from lmzoo.datasets import load_corpus
from lmzoo.errors import LmzooError
lee = load_corpus("lee")
for run in spec["runs"]:
    try:
        lmzoo.train(run["family"], lee, run["out"], preset="quick", **run["overrides"])
        print("trained", run["out"], flush=True)
    except LmzooError as err:
        if not run.get("refused"):
            raise
        print("refused:", err, flush=True)
"""


def env(**extra: str) -> dict:
    out = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONSAFEPATH": "1", "CUDA_VISIBLE_DEVICES": "",
           "KERAS_BACKEND": "tensorflow", distribute.TIMEOUT_ENV: "60"}
    out.pop("TF_CONFIG", None)
    return {**out, **extra}


def start(runs: list[tuple], devices: int = 1, **variables: str) -> subprocess.Popen:
    """A worker process that trains `runs`, in order: (family, out, overrides), or with a 4th item
    "refused" for a run that must fail with a one-line LmzooError."""
    spec = json.dumps({"devices": devices, "runs": [{"family": run[0], "out": str(run[1]), "overrides": run[2],
                                                     "refused": run[3:] == ("refused",)} for run in runs]})
    return subprocess.Popen([sys.executable, "-c", WORKER, spec], env=env(**variables), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout: float = TIMEOUT) -> str:
    """The process's output once it exits with 0; kills it (SIGKILL) and fails after `timeout`."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"worker did not finish within {timeout} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]
    return output


def losses(out) -> list[float]:
    """The training loss of every logged step (metrics.jsonl), in order."""
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cluster(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def assert_same_training(distributed, single) -> None:
    got, want = losses(distributed), losses(single)
    assert len(got) == len(want) >= 3
    np.testing.assert_allclose(got, want, rtol=LOSS_RTOL)
    assert got[-1] < got[0]  # and it did learn


# mirrored --------------------------------------------------------------------------------------

FAMILIES = {"transformer": TRANSFORMER, "seq2seq": SEQ2SEQ, "word2vec": WORD2VEC, "rnnlm": RNNLM}


@pytest.fixture(scope="module")
def mirrored_runs(tmp_path_factory):
    """Each family trained on one device, and on 2 logical CPUs; (runs folder, mirrored process output).

    Two processes in all, run side by side: the single-device one also serves as the multi-worker
    reference, and the mirrored one ends with runs that must be refused (XLA, and rnnlm's carried
    state, under a strategy).
    """
    root = tmp_path_factory.mktemp("mirrored")
    single = start([(family, root / f"single-{family}", overrides) for family, overrides in FAMILIES.items()])
    mirrored = start([*((family, root / f"mirrored-{family}", {**overrides, "distribute": "mirrored"})
                        for family, overrides in FAMILIES.items()),
                      ("transformer", root / "xla", {**TRANSFORMER, "jit_compile": True, "distribute": "mirrored"},
                       "refused"),
                      ("rnnlm", root / "carry", {**RNNLM, "carry_state": True, "distribute": "mirrored"}, "refused")],
                     devices=2)
    finish(single)
    return root, finish(mirrored)


@pytest.mark.parametrize("family", FAMILIES)
def test_mirrored_on_two_logical_cpus_equals_one_device(mirrored_runs, family):
    root, _ = mirrored_runs
    mirrored, single = root / f"mirrored-{family}", root / f"single-{family}"
    if family == "word2vec":  # its loss is logged once per epoch: compare the vectors instead
        a, b = (lmzoo.load(path).word_vectors() for path in (mirrored, single))
        np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-3, atol=1e-6)
        return
    assert_same_training(mirrored, single)
    if family in ("transformer", "rnnlm"):
        a, b = (lmzoo.load(path) for path in (mirrored, single))
        ids = a.tokenizer.encode(TEXT)
        np.testing.assert_allclose(a.token_log_probs(ids), b.token_log_probs(ids), rtol=1e-3, atol=1e-4)


def test_xla_under_a_tensorflow_strategy_is_refused_not_dropped(mirrored_runs):
    _, output = mirrored_runs
    assert "refused: jit_compile=True (XLA) does not run under a TensorFlow distribution strategy" in output


def test_carried_rnn_state_under_a_strategy_is_refused_in_one_line(mirrored_runs):
    _, output = mirrored_runs
    assert "refused: carry_state=True does not run under distribute='mirrored'" in output


# multi-worker ----------------------------------------------------------------------------------


def test_two_workers_on_localhost_equal_one_device(tmp_path, mirrored_runs):
    ports = free_ports(2)
    workers = [start([("transformer", tmp_path / f"worker{i}", {**TRANSFORMER, "distribute": "multi-worker"})],
                     TF_CONFIG=cluster(ports, i)) for i in range(2)]
    for process in workers:
        finish(process)
    single = mirrored_runs[0] / "single-transformer"
    assert_same_training(tmp_path / "worker0", single)
    # Only the chief writes its run directory; worker 1's --out holds what `train` claims it with before
    # training (RunDir.begin: the lock, the config and the fingerprint a resume is checked against).
    assert sorted(p.name for p in (tmp_path / "worker1").iterdir()) == [".lock", "config.json", "fingerprint.json"]
    chief, reference = lmzoo.load(tmp_path / "worker0"), lmzoo.load(single)  # single-device reload
    ids = chief.tokenizer.encode(TEXT)
    np.testing.assert_allclose(chief.token_log_probs(ids), reference.token_log_probs(ids), rtol=1e-3, atol=1e-4)


def test_a_worker_whose_peer_never_starts_fails_clearly(monkeypatch, tmp_path, lee):
    """In this process: the rendezvous comes before TensorFlow's own (unbounded) wait, so nothing is left behind."""
    ports = free_ports(2)
    monkeypatch.setenv("TF_CONFIG", cluster(ports, 0))
    monkeypatch.setenv(distribute.TIMEOUT_ENV, "2")
    monkeypatch.setattr(distribute, "_strategies", {})
    started = time.monotonic()
    with pytest.raises(LmzooError, match=f"worker 1 at 127.0.0.1:{ports[1]} did not answer within 2 s"):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", **TRANSFORMER, distribute="multi-worker")
    assert time.monotonic() - started < 30
    assert not distribute._strategies


def test_a_worker_whose_port_is_taken_fails_at_once(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = json.loads(cluster([port, free_ports(1)[0]], 0))
        with pytest.raises(LmzooError, match=f"port {port} of worker 0 .* cannot be used"):
            distribute.rendezvous(config, timeout=5)


def test_a_dead_peer_stops_training_with_one_line(tmp_path):
    ports = free_ports(2)
    long = {**TRANSFORMER, "steps": 100000, "eval_every": 1000}
    workers = [start([("transformer", tmp_path / f"worker{i}", {**long, "distribute": "multi-worker"})],
                     TF_CONFIG=cluster(ports, i)) for i in range(2)]
    deadline = time.monotonic() + TIMEOUT
    while not (tmp_path / "worker0" / "metrics.jsonl").exists():  # training has started
        assert time.monotonic() < deadline and workers[0].poll() is None, workers[0].communicate()[0][-2000:]
        time.sleep(0.5)
    workers[1].kill()
    output, _ = workers[0].communicate(timeout=TIMEOUT)
    workers[1].communicate()
    assert workers[0].returncode != 0
    assert "multi-worker training stopped: a worker died or stopped answering" in output


# JAX: keras.distribution.DataParallel --------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="the jax extra is not installed (pip install .[jax])")
def test_jax_data_parallel_on_two_host_devices_equals_one_device(tmp_path):
    jax = {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    overrides = {**TRANSFORMER, "jit_compile": True}
    single = start([("transformer", tmp_path / "single", overrides)], **jax)
    parallel = start([("transformer", tmp_path / "parallel", {**overrides, "distribute": "mirrored"})], **jax)
    finish(single)
    finish(parallel)
    assert_same_training(tmp_path / "parallel", tmp_path / "single")
    # The JAX-trained checkpoint reloads in this process, whatever its backend.
    a, b = (lmzoo.load(tmp_path / name) for name in ("parallel", "single"))
    ids = a.tokenizer.encode(TEXT)
    np.testing.assert_allclose(a.token_log_probs(ids), b.token_log_probs(ids), rtol=1e-3, atol=1e-4)


# configuration errors (in this process) ----------------------------------------------------------


def test_multi_worker_without_tf_config_is_one_line(monkeypatch, tmp_path, lee):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(distribute, "_strategies", {})
    with pytest.raises(LmzooError, match="needs TF_CONFIG, which is not set"):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", distribute="multi-worker")


def test_mirrored_on_one_device_refuses_to_fall_back(monkeypatch, tmp_path, lee):
    monkeypatch.setattr(distribute, "_strategies", {})
    with pytest.raises(LmzooError, match="found 1 device .* nothing to split the batch over"):
        lmzoo.train("transformer", lee, tmp_path, preset="quick", distribute="mirrored")


def test_bad_tf_config_and_chief_rule(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(LmzooError, match="TF_CONFIG is not a valid cluster description"):
        distribute.is_chief()
    monkeypatch.setenv("TF_CONFIG", cluster([1, 2], 1))
    assert not distribute.is_chief() and distribute.is_chief("none")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert not distribute.is_chief()


def test_gensim_baseline_refuses_distribution(tmp_path, lee):
    with pytest.raises(LmzooError, match="word2vec-gensim trains with gensim's threads"):
        lmzoo.train("word2vec-gensim", lee, tmp_path, preset="quick", distribute="mirrored")
