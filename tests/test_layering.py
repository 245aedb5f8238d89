"""The dependency rules of ARCHITECTURE.md §2.4, checked on the source with `ast`."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"lmzoo": "lmzoo", "models": "lmzoo.models", "datasets": "lmzoo.datasets"}
FAMILY_MODULES = {"unigram", "ngram", "arpa", "word2vec", "seq2seq", "rnnlm", "transformer", "transformer_layers", "gpt2"}
# Modules that must stay instant to import: no TensorFlow/Keras at module level.
LIGHT = {"lmzoo", "lmzoo.cli", "lmzoo.families", "lmzoo.datasets.catalog", "lmzoo.errors", "lmzoo.config",
         "lmzoo.protocols", "lmzoo.runs", "lmzoo.plots"}
HEAVY = ("tensorflow", "keras", "keras_nlp", "keras_hub", "jax")


def modules():
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            yield name, ast.parse(path.read_text(encoding="utf-8"))


def imports(tree, top_level_only=False):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_bare_models_or_datasets_imports():
    for name, tree in modules():
        for imported in imports(tree):
            assert imported.split(".")[0] not in ("models", "datasets"), f"{name} imports bare '{imported}'"


def test_layers():
    for name, tree in modules():
        found = set(imports(tree))
        if name.startswith("lmzoo.models."):
            family = name.split(".")[2]
            others = {f"lmzoo.models.{f}" for f in FAMILY_MODULES - {family}}
            if family == "transformer":  # the family builds on its own teaching layers
                others.discard("lmzoo.models.transformer_layers")
            if family == "ngram":
                others.discard("lmzoo.models.arpa")
            if family == "arpa":
                others.discard("lmzoo.models.ngram")
            assert not found & others, f"{name} imports another family: {found & others}"
            assert not {m for m in found if m in ("lmzoo.harness", "lmzoo.compare", "lmzoo.cli", "lmzoo.families")}, name
        if name.startswith("lmzoo.datasets"):
            assert not any(m.startswith(("lmzoo.models", "lmzoo.harness", "lmzoo.cli")) for m in found), name
        if name == "lmzoo.harness":
            assert not any(m.startswith("lmzoo.models") for m in found), "the harness must use protocols only"
        if name == "lmzoo.plots":
            assert not any(m.split(".")[0] in HEAVY for m in found), "plots are made from JSON, without Keras"


def test_light_modules_import_no_tensorflow_at_module_level():
    for name, tree in modules():
        if name in LIGHT:
            heavy = [m for m in imports(tree, top_level_only=True) if m.split(".")[0] in HEAVY]
            assert not heavy, f"{name} imports {heavy} at module level"


def imported_modules(tree):
    """Every module a tree may import: `from a import b` counts as both `a` and `a.b`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def family_imports(tree):
    families = tuple(f"lmzoo.models.{f}" for f in FAMILY_MODULES)
    return sorted({m for m in imported_modules(tree) if m in families or m.startswith(tuple(f + "." for f in families))})


def test_family_import_detector_sees_every_form():
    for source in ("from lmzoo.models import seq2seq", "import lmzoo.models.rnnlm", "from lmzoo.models.gpt2.model import X",
                   "def f():\n    from lmzoo.models.word2vec import training"):
        assert family_imports(ast.parse(source)), source
    assert not family_imports(ast.parse("from lmzoo.models import sampling\nfrom lmzoo.models.layers import recurrent"))


def test_tasks_and_shared_layers_import_layers_and_protocols_never_a_family():
    """ARCHITECTURE.md §4: tasks (and models/layers, which families and tasks share) reach a pre-trained run
    through `lmzoo.protocols` and build on `models/layers`; a family import would tie them to its internals."""
    for name, tree in modules():
        if name.startswith(("lmzoo.models.tasks", "lmzoo.models.layers")):
            assert not family_imports(tree), f"{name} imports a family: {family_imports(tree)}"


def test_module_docstrings_say_what_and_why_in_at_most_25_lines():
    """Measurement diaries belong in benchmarks/results/NOTES.md and the README, not in module docstrings."""
    long = {}
    for path in sorted(p for folder in (*FOLDERS, "benchmarks") for p in (ROOT / folder).rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
        if doc and doc.count("\n") + 1 > 25:
            long[str(path.relative_to(ROOT))] = doc.count("\n") + 1
    assert not long, f"module docstrings over 25 lines: {long}"
