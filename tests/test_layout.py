"""The shape of the package, checked from the source: no import cycles between tracknet modules
(imports inside functions count, ``if TYPE_CHECKING:`` imports do not: they never run), layers
that only look down, imports at module top unless a comment says why, and no file above 500 lines
unless its module docstring has a sentence starting with ``Long because``. One check runs the
imports instead: the layers below the model (base, io, track, eval) never load torch.

The exact rules (what counts as an edge, what counts as a reason) are in
``tests/layout_checks.py``. The tests at the end run each check on small hand-made packages, so
each is shown to fail on a known-bad tree.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.layout_checks import (
    MAX_LINES,
    Edge,
    Module,
    describe_cycle,
    find_cycles,
    find_modules,
    import_edges,
    imported_modules,
    inner_imports,
    layer_of,
    layer_violations,
    long_files_without_reason,
    modules_loading,
    show_path,
    unexplained_inner_imports,
)

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "tracknet"

# The layering, lowest first: a module may import its own layer and the layers below, never a
# layer above. A name matches itself and every module below it (``tracknet.io`` covers
# ``tracknet.io.video``); ``tracknet`` alone is the root package's ``__init__.py`` only.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "tracknet.errors",
            "tracknet.constants",
            "tracknet.utils",
            "tracknet.config",
            "tracknet.settings",
        ),
    ),
    ("io", ("tracknet.io",)),
    # tracking over time and scoring, on numpy arrays: below everything that loads torch
    ("track", ("tracknet.track",)),
    ("eval", ("tracknet.eval",)),
    ("data", ("tracknet.data",)),
    ("models", ("tracknet.models",)),
    # the model runner: a source through the model and the tracker into a Track
    ("infer", ("tracknet.infer",)),
    ("train", ("tracknet.train",)),
    # scoring a checkpoint (through infer) or CSVs; the predict command above never scores
    ("evaluate", ("tracknet.evaluate",)),
    # the predict command, its Python API (Tracker) and its output files
    ("predict", ("tracknet.predict",)),
    # the programs behind the other subcommands; the labelling tool calls infer for suggestions
    # and track for its review queue; the root package hands ``Tracker`` out lazily
    ("apps", ("tracknet", "tracknet.bench", "tracknet.demo", "tracknet.label")),
    ("cli", ("tracknet.cli", "tracknet.__main__")),
]
# Edges forbidden although the layer order alone would allow them: training never runs inference;
# predicting never scores (evaluate and predict are siblings on top of infer).
FORBIDDEN: list[tuple[str, str]] = [
    ("tracknet.train", "tracknet.infer"),
    ("tracknet.predict", "tracknet.evaluate"),
]
# The layers below data never load torch, directly or through what they import: reading files,
# tracking and scoring run without a model (the labelling tool's review queue, scoring a CSV).
TORCH_FREE = ("base", "io", "track", "eval")
HEAVY = ("torch",)


# --------------------------------------------------------------------------- the package itself
def _fail_listing(what: str, items: list[str]) -> None:
    if items:
        pytest.fail(f"{what} ({len(items)}):\n  " + "\n  ".join(items), pytrace=False)


@pytest.fixture(scope="module")
def package() -> tuple[dict[str, Module], list[Edge]]:
    modules = find_modules(PACKAGE_ROOT)
    return modules, import_edges(modules)


def test_no_import_cycles(package):
    """No two tracknet modules import each other, directly or around a loop, counting imports
    inside functions (TYPE_CHECKING-only imports are not counted: they never run)."""
    _, edges = package
    cycles = [describe_cycle(c) for c in find_cycles(edges)]
    _fail_listing("import cycles between tracknet modules", cycles)


def test_inner_imports_say_why(package):
    """An import inside a function carries a comment saying why (optional dependency, start-up
    time, ...), on its line or on the line just above."""
    modules, _ = package
    missing = [
        f"{show_path(i.path)}:{i.line}: {i.text}" for i in unexplained_inner_imports(modules)
    ]
    _fail_listing("imports inside functions without a comment saying why", missing)


def test_no_long_file_without_a_reason(package):
    """Files stay under ~500 lines, unless the module docstring has a sentence starting with
    ``Long because`` that says why."""
    modules, _ = package
    offenders = long_files_without_reason(modules)
    _fail_listing(f"files above {MAX_LINES} lines with no 'Long because ...' sentence", offenders)


def test_layers_only_look_down(package):
    """errors/constants/utils/config/settings < io < track < eval < data < models < infer < train <
    evaluate < predict < bench/demo/label < cli: a module never imports a layer above its own
    (and train never imports infer, predict never imports evaluate)."""
    modules, edges = package
    problems = layer_violations(edges, modules, LAYERS, FORBIDDEN)
    _fail_listing("layering broken", problems)


def test_numpy_layers_import_no_torch(package):
    """Every module of the base, io, track and eval layers imports without loading torch, checked
    by importing them in a fresh interpreter (through any import chain, not only direct ones)."""
    modules, _ = package
    assert [name for name, _ in LAYERS[: len(TORCH_FREE)]] == list(TORCH_FREE)  # the lowest
    layers = dict(LAYERS)
    prefixes = [p for name in TORCH_FREE for p in layers[name]]
    names = sorted(n for n in modules if any(n == p or n.startswith(p + ".") for p in prefixes))
    assert any(n.startswith("tracknet.track.") for n in names)
    _fail_listing("torch-free layers loading torch", modules_loading(names, HEAVY))


def test_model_tests_do_not_need_inference():
    """``tests/models/`` tests the models alone: the predictor's use of them is tested in
    ``tests/infer/``."""
    offenders = [
        f"{show_path(path)}:{line}: {name}"
        for path in sorted((PACKAGE_ROOT.parent / "tests" / "models").rglob("*.py"))
        for line, name in imported_modules(path)
        if name == "tracknet.infer" or name.startswith("tracknet.infer.")
    ]
    _fail_listing("tests/models/ imports tracknet.infer", offenders)


# --------------------------------------------------------------------------- the checks themselves
def _package(tmp_path: Path, files: dict[str, str], name: str = "pkg") -> dict[str, Module]:
    """A package ``name`` under ``tmp_path`` from ``{relative path: source}``."""
    root = tmp_path / name
    for rel, source in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return find_modules(root)


def _pairs(edges: Iterable[Edge]) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in edges}


def test_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    modules = _package(
        tmp_path,
        {
            "a.py": "from pkg.b import thing\n",
            "b.py": "thing = 1\n\ndef late():\n    from pkg import a\n    return a\n",
        },
    )
    edges = import_edges(modules)
    assert _pairs(edges) == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.a")}
    cycles = find_cycles(edges)
    assert len(cycles) == 1
    text = describe_cycle(cycles[0])
    assert "pkg.a -> pkg.b" in text and "pkg.b -> pkg.a" in text and "in a function" in text
    assert "pkg/b.py:4" in text


def test_no_cycle_in_a_chain_and_type_checking_imports_are_not_edges(tmp_path):
    modules = _package(
        tmp_path,
        {
            "a.py": "import pkg.b\n",
            "b.py": "from pkg import c\n",
            "c.py": (
                "from typing import TYPE_CHECKING\n"
                "import typing\n"
                "if TYPE_CHECKING:\n    from pkg.a import x\n"
                "if typing.TYPE_CHECKING:\n    import pkg.a\n"
                "else:\n    import pkg.d\n"
            ),
            "d.py": "",
        },
    )
    edges = import_edges(modules)
    assert _pairs(edges) == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.d")}
    assert find_cycles(edges) == []


def test_relative_and_submodule_imports_resolve(tmp_path):
    modules = _package(
        tmp_path,
        {
            "sub/__init__.py": "from .m import name\n",
            "sub/m.py": "from . import n\nfrom ..top import value\nfrom .n import *\nname = 1\n",
            "sub/n.py": "",
            "top.py": "import os\nfrom pkg.sub.m import name as value\n",
            "other.py": "from pkg import sub, top\n",
        },
    )
    pairs = _pairs(import_edges(modules))
    assert pairs == {
        ("pkg.sub", "pkg.sub.m"),
        ("pkg.sub.m", "pkg.sub.n"),
        ("pkg.sub.m", "pkg.top"),
        ("pkg.top", "pkg.sub.m"),
        ("pkg.top", "pkg.sub"),  # implicit: python runs pkg/sub/__init__.py first
        ("pkg.other", "pkg.sub"),
        ("pkg.other", "pkg.top"),
    }
    # pkg.top runs pkg/sub/__init__.py, which imports pkg.sub.m, which imports pkg.top back
    (cycle,) = find_cycles(import_edges(modules))
    assert [(e.source, e.target) for e in cycle] == [
        ("pkg.sub", "pkg.sub.m"),
        ("pkg.sub.m", "pkg.top"),
        ("pkg.top", "pkg.sub"),
    ]


def test_cycle_through_a_package_init_is_found(tmp_path):
    modules = _package(
        tmp_path,
        {
            "models/__init__.py": "from pkg.models.net import Net\n",
            "models/net.py": "from pkg.data import codec\nclass Net: ...\n",
            "models/blocks.py": "",
            "data/__init__.py": "",
            "data/codec.py": "from pkg.models.blocks import conv\n",
        },
    )
    cycles = find_cycles(import_edges(modules))
    assert len(cycles) == 1
    assert {e.source for e in cycles[0]} == {"pkg.models", "pkg.models.net", "pkg.data.codec"}
    assert any(e.implicit for e in cycles[0])


def test_dynamic_imports_are_edges(tmp_path):
    modules = _package(
        tmp_path,
        {
            "a.py": 'import importlib\n\ndef f():\n    return importlib.import_module("pkg.b")\n',
            "b.py": 'g = lambda: __import__("pkg.a", fromlist=["x"])\n',
            "c.py": (
                "import importlib\nTABLE = {'d': 'pkg.d', 'e': 'not.ours'}\n\n"
                "def load(k):\n    return importlib.import_module(TABLE[k])\n"
            ),
            "d.py": "",
        },
    )
    edges = import_edges(modules)
    assert _pairs(edges) == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.a"), ("pkg.c", "pkg.d")}
    assert len(find_cycles(edges)) == 1


def test_inner_imports_need_a_comment(tmp_path):
    modules = _package(
        tmp_path,
        {
            "m.py": """\
                import os


                def ok_same_line():
                    import json  # start-up time: only --json needs it


                def ok_line_above():
                    # optional dependency
                    import onnx
                    from pkg import n
                    import csv  # a run of imports shares the comment above it


                def missing():
                    x = 1  # a comment about x, not about the import
                    import sqlite3


                def noqa_is_no_reason():
                    import numpy  # noqa: F401
                    import torch  # noqa: F401  (start-up time: torch is heavy)


                class C:
                    def method(self):
                        from pkg.n import (
                            thing,
                        )
                        return thing

                    def method_ok(self):
                        # the heavy model is loaded on demand
                        from pkg.n import (
                            thing,
                        )
                        import importlib
                        return importlib.import_module("pkg.n")


                def blank_line_breaks_it():
                    # optional dependency

                    import zlib


                def dynamic():
                    return __import__("pkg.n")


                def defaults_run_at_definition(m=__import__("pkg.n")):
                    return m
                """,
            "n.py": "thing = 1\n",
        },
    )
    lines = [i.line for i in unexplained_inner_imports(modules)]
    assert lines == [17, 21, 27, 44, 48]
    inner = [i.line for i in inner_imports(modules)]
    assert inner == [5, 10, 11, 12, 17, 21, 22, 27, 34, 37, 38, 44, 48]


def test_imported_modules_of_any_file(tmp_path):
    path = tmp_path / "test_x.py"
    path.write_text(
        "import os.path\nfrom typing import TYPE_CHECKING\nfrom tracknet.infer import predictor\n"
        "if TYPE_CHECKING:\n    import tracknet.eval\n\n"
        "def f():\n    from . import sibling\n    return __import__('tracknet.infer.tracker')\n"
    )
    assert imported_modules(path) == [
        (1, "os.path"),
        (2, "typing.TYPE_CHECKING"),
        (3, "tracknet.infer.predictor"),
        (9, "tracknet.infer.tracker"),
    ]


def test_long_files_need_a_reason(tmp_path):
    body = "x = 1\n" * MAX_LINES
    modules = _package(
        tmp_path,
        {
            "short.py": '"""Fine."""\n' + "x = 1\n" * (MAX_LINES - 1),
            "long.py": '"""Does a job."""\n' + body,
            "lines_word.py": '"""Does a job in many lines."""\n' + body,
            "reasoned.py": '"""Does a job.\n\nLong because the readers share one checker.\n"""\n'
            + body,
            "inline.py": '"""Does a job. Long because it is a table."""\n' + body,
        },
    )
    assert long_files_without_reason(modules) == [
        f"{show_path(tmp_path / 'pkg' / name)}: {MAX_LINES + 1} lines"
        for name in ("lines_word.py", "long.py")
    ]


def test_layering_finds_upward_edges_and_unplaced_modules(tmp_path):
    layers = [
        ("base", ("pkg", "pkg.errors", "pkg.tools.small")),
        ("data", ("pkg.data",)),
        ("infer", ("pkg.infer",)),
        ("train", ("pkg.train",)),
        ("apps", ("pkg.tools",)),
    ]
    modules = _package(
        tmp_path,
        {
            "errors.py": "",
            "data/__init__.py": "",
            "data/codec.py": (
                "from pkg.errors import E\nimport pkg.tools.small\n\n"
                "def f():\n    import pkg.infer.run  # lazy\n"
            ),
            "infer/__init__.py": "",
            "infer/run.py": "from pkg.data import codec\n",
            "train/__init__.py": "",
            "train/loop.py": "from pkg.infer import run\nfrom pkg.data.codec import f\n",
            "tools/__init__.py": "",
            "tools/small.py": "",
            "stray.py": "",
        },
    )
    problems = layer_violations(
        import_edges(modules), modules, layers, [("pkg.train", "pkg.infer")], root="pkg"
    )
    codec, loop = (
        show_path(tmp_path / "pkg/data/codec.py"),
        show_path(tmp_path / "pkg/train/loop.py"),
    )
    assert problems == [
        "pkg.stray: in no layer; add it to LAYERS in tests/test_layout.py",
        # the submodule is in a lower layer, but importing it runs the apps package first
        f"{codec}:2: pkg.data.codec (data) imports pkg.tools (apps) through its package __init__",
        f"{codec}:5: pkg.data.codec (data) imports pkg.infer.run (infer)",
        f"{loop}:1: pkg.train.loop imports pkg.infer.run: pkg.train never uses pkg.infer",
    ]  # pkg.infer.run -> pkg.data and pkg.train.loop -> pkg.data are fine
    assert layer_of("pkg", layers, "pkg") == 0 and layer_of("pkg.x", layers, "pkg") is None
    assert layer_of("pkg.tools.small", layers, "pkg") == 0  # the longest prefix wins
    assert layer_of("pkg.errorsx", layers, "pkg") is None  # a prefix ends at a dot


def test_modules_loading_blames_the_first_import_that_loads_a_heavy_module(tmp_path):
    (tmp_path / "heavy.py").write_text("")
    _package(
        tmp_path,
        {
            "light.py": "import json\n",
            "uses.py": "from pkg import light\nimport heavy\n",
            "again.py": "import heavy\nfrom pkg import uses\n",
        },
    )
    names = ["pkg.light", "pkg.uses", "pkg.again"]
    assert modules_loading(names, ["heavy", "missing"], path=tmp_path) == ["pkg.uses loads heavy"]
    assert modules_loading(["pkg.light"], ["heavy"], path=tmp_path) == []
    assert modules_loading(["pkg.again"], ["heavy"], path=tmp_path) == ["pkg.again loads heavy"]
