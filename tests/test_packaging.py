"""The install exposes one import root, `lmzoo`, and never shadows `models` or `datasets`."""

import configparser
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_only_lmzoo_is_a_top_level_name():
    owners = metadata.packages_distributions()
    for name in ("models", "datasets"):
        assert "keras-lmzoo" not in owners.get(name, []), f"installing keras-lmzoo provides top-level '{name}'"
    assert "keras-lmzoo" in owners.get("lmzoo", [])


def test_bare_names_do_not_resolve_to_this_project(tmp_path):
    code = (
        "import importlib.util as u, json\n"
        "out = {}\n"
        "for n in ('models', 'datasets'):\n"
        "    s = u.find_spec(n)\n"
        "    out[n] = s.origin if s and s.origin else str(s.submodule_search_locations if s else None)\n"
        "import lmzoo.models, lmzoo.datasets\n"
        "out['lmzoo.models'] = lmzoo.models.__file__\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    import json

    found = json.loads(result.stdout)
    for name in ("models", "datasets"):
        assert str(ROOT) not in found[name], f"'{name}' resolves into the repo: {found[name]}"
    assert found["lmzoo.models"].startswith(str(ROOT / "models"))


def test_every_package_folder_is_listed_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    mapping = {"lmzoo": "lmzoo", "lmzoo.models": "models", "lmzoo.datasets": "datasets"}
    on_disk = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((package, *relative)))
    assert on_disk == listed, "setup.cfg [options] packages must list every folder with an __init__.py"


def test_console_script():
    scripts = {e.name: e.value for e in metadata.entry_points(group="console_scripts")}
    assert scripts.get("lmzoo") == "lmzoo.cli:run"
