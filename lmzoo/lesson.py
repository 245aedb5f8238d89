"""Small helpers the lessons share: quick mode, where figures go, and showing library source.

Example:
    >>> from lmzoo.lesson import quick, output_dir
    >>> isinstance(quick(), bool)
    True
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

QUICK_ENV = "LMZOO_QUICK"
OUT_ENV = "LMZOO_LESSON_OUT"


def quick() -> bool:
    """True when `LMZOO_QUICK=1`: lessons then use tiny sizes and finish in about a minute."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0", "false", "no")


def preset() -> str:
    """The family preset a lesson should train with: "quick" in quick mode, else "default"."""
    return "quick" if quick() else "default"


def output_dir(lesson: str) -> Path:
    """Folder for a lesson's figures and runs: `$LMZOO_LESSON_OUT/<lesson>` (default runs/lessons)."""
    path = Path(os.environ.get(OUT_ENV, "runs/lessons")) / lesson
    path.mkdir(parents=True, exist_ok=True)
    return path


def show(obj: object) -> None:
    """Print the library source of `obj` with its file and line, so lessons never paste code."""
    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj) or "?")
    print(f"# {path.parent.name}/{path.name}:{start}")
    print("".join(lines))


def show_png(path: str | Path) -> None:
    """Display a saved figure inline in a notebook (IPython), or print where it is otherwise."""
    path = Path(path)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(filename=str(path)))
            return
    except ImportError:
        pass
    print(f"figure: {path}")
