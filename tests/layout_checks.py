"""The checks behind ``tests/test_layout.py``, as plain functions of a package folder, so they
run on the real ``tracknet/`` and on small hand-made packages alike. Nothing here is imported by
the package; the package is parsed, never imported (except by :func:`modules_loading`).

What counts as an import edge between two modules of the package:

* Every ``import`` / ``from ... import`` counts, wherever it sits: at module top, inside functions,
  methods, lambdas, classes or ``try`` blocks. Imports inside ``if TYPE_CHECKING:`` (or
  ``if typing.TYPE_CHECKING:``) do NOT count: they never run, so they cannot form a cycle at run
  time. Their ``else:`` branch does count.
* ``from pkg.x import y`` is an edge to ``pkg.x.y`` when that is a module, else to ``pkg.x``;
  relative imports are resolved against the importing module's package.
* Importing a package means running its ``__init__.py``: ``pkg.models`` is the module of
  ``pkg/models/__init__.py``, and importing ``pkg.models.blocks`` from outside ``pkg.models`` is
  also an edge to ``pkg.models`` (Python runs the package first). The packages that contain the
  importing module are left out: they are already running by then.
* Dynamic imports count too: ``importlib.import_module("pkg.x")`` / ``__import__("pkg.x")`` with
  a literal name; in a module that calls them with a computed name, every string constant that
  names a module of the package (e.g. the CLI's table of subcommands) is an edge.

An import inside a function (or method, or lambda) -- a statement or a dynamic-import call -- is
explained when a comment sits on one of its lines or on the comment-only line just above it; a
run of imports on consecutive lines shares the comment above its first statement. ``# noqa``,
``# type: ignore`` and ``# pragma`` comments are not reasons.

A file above :data:`MAX_LINES` lines says why in its module docstring, in a sentence that starts
with ``Long because`` (e.g. "Long because the two readers share one row checker.").

One check runs code instead of parsing it: :func:`modules_loading` imports modules in a fresh
interpreter and says which heavy third-party modules (torch) they bring in, directly or through
what they import.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

MAX_LINES = 500
"""A file above this many lines needs a ``Long because ...`` sentence in its docstring."""
LONG_REASON = re.compile(r"(?:\A|[.!?:;]\s+|\n)\s*(?:[-*]\s+)?Long because\s+\S")

DYNAMIC_IMPORTERS = {"import_module", "__import__"}
# Tool directives in a comment; what is left after them (if anything) is the reason.
DIRECTIVE = re.compile(
    r"noqa(?::\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?|type:\s*ignore(?:\[[^\]]*\])?"
    r"|pragma:\s*no\s*(?:cover|branch)|fmt:\s*(?:on|off|skip)",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- reading the tree
@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool  # an __init__.py

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: Path
    line: int
    inner: bool  # inside a function, method or lambda
    via: str | None = None  # set when this is a package ``__init__`` run on the way to ``via``

    @property
    def implicit(self) -> bool:
        return self.via is not None

    def where(self) -> str:
        return f"{show_path(self.path)}:{self.line}"


@dataclass(frozen=True)
class InnerImport:
    path: Path
    line: int  # first line of the statement (or of the dynamic-import call)
    end_line: int
    text: str


def show_path(path: Path) -> str:
    for base in (REPO_ROOT, Path.cwd()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return str(path)


def find_modules(root: Path) -> dict[str, Module]:
    """Every ``.py`` file below the package folder ``root``, by dotted module name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = Module(".".join(parts), path, is_package)
    return modules


def _parse(module: Module) -> ast.Module:
    return ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _dynamic_import_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name in DYNAMIC_IMPORTERS


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Every node that runs (TYPE_CHECKING blocks left out), with "inside a function" or not."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, inner = stack.pop()
        yield node, inner
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend((child, inner) for child in node.orelse)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            # the body runs when called; decorators, defaults and annotations when defined
            body = node.body if isinstance(node.body, list) else [node.body]
            stack.extend((child, True) for child in body)
            stack.extend(
                (child, inner) for child in ast.iter_child_nodes(node) if child not in body
            )
        else:
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _resolve_from(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _owner(name: str, modules: dict[str, Module]) -> str | None:
    """The module ``name`` lives in: itself, or the nearest enclosing module (an attribute)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported_names(module: Module, node: ast.AST, modules: dict[str, Module]) -> list[str]:
    """The tracknet modules one import statement or dynamic-import call loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = _resolve_from(module, node)
        names = [f"{base}.{alias.name}" if alias.name != "*" else base for alias in node.names]
        names = [n if n in modules else base for n in names]
    elif _dynamic_import_call(node) and node.args:
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return []
        names = [arg.value]
    else:
        return []
    return [owner for n in names if (owner := _owner(n, modules)) is not None]


def import_edges(modules: dict[str, Module]) -> list[Edge]:
    """Every edge between the modules of ``modules`` (see the module docstring for the rules)."""
    edges: list[Edge] = []
    for module in modules.values():
        tree = _parse(module)
        own_packages = {module.name.rsplit(".", i)[0] for i in range(module.name.count(".") + 1)}
        computed_dynamic = False
        for node, inner in _walk(tree):
            line = getattr(node, "lineno", 0)
            if _dynamic_import_call(node) and not (
                node.args and isinstance(node.args[0], ast.Constant)
            ):
                computed_dynamic = True
            for target in _imported_names(module, node, modules):
                edges.append(Edge(module.name, target, module.path, line, inner))
                parts = target.split(".")
                for i in range(1, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent in modules and parent not in own_packages:
                        edges.append(Edge(module.name, parent, module.path, line, inner, target))
        if computed_dynamic:  # names handed to import_module from a table or a variable
            for node, inner in _walk(tree):
                if isinstance(node, ast.Constant) and node.value in modules:
                    edges.append(Edge(module.name, node.value, module.path, node.lineno, inner))
    return sorted((e for e in edges if e.source != e.target), key=lambda e: (e.source, e.line))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every absolute import in one file (any file, e.g. a test):
    ``import a.b`` gives ``a.b``, ``from a.b import c`` gives ``a.b.c`` (it may be a module);
    ``TYPE_CHECKING`` blocks left out, dynamic imports with a literal name included."""
    found = []
    for node, _ in _walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif _dynamic_import_call(node) and node.args and isinstance(node.args[0], ast.Constant):
            found.append((node.lineno, str(node.args[0].value)))
    return sorted(found)


# --------------------------------------------------------------------------- cycles
def _graph(edges: Iterable[Edge]) -> dict[str, dict[str, Edge]]:
    graph: dict[str, dict[str, Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, {}).setdefault(edge.target, edge)
        graph.setdefault(edge.target, {})
    return graph


def _strongly_connected(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; the components of more than one module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def find_cycles(edges: Iterable[Edge]) -> list[list[Edge]]:
    """One shortest cycle per group of mutually importing modules, as the edges that close it."""
    graph = _graph(edges)
    cycles = []
    for component in _strongly_connected(graph):
        members = set(component)
        start = component[0]
        came_from: dict[str, Edge] = {}
        queue = deque([start])
        while queue:  # breadth first from start, until an edge leads back to it
            node = queue.popleft()
            back = graph[node].get(start)
            if back is not None:
                path = [back]
                while path[0].source != start:
                    path.insert(0, came_from[path[0].source])
                cycles.append(path)
                break
            for child, edge in sorted(graph[node].items()):
                if child in members and child not in came_from and child != start:
                    came_from[child] = edge
                    queue.append(child)
    return cycles


def describe_cycle(cycle: list[Edge]) -> str:
    steps = [
        f"{e.source} -> {e.target} ({e.where()}{', in a function' if e.inner else ''})"
        for e in cycle
    ]
    return "cycle: " + " ; ".join(steps)


# --------------------------------------------------------------------------- inner imports
def _comments(source: str) -> tuple[dict[int, str], set[int]]:
    """Comment text by line, and the lines that hold nothing but a comment."""
    comments: dict[int, str] = {}
    code_lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
        elif tok.type not in skip and tok.type != tokenize.ENDMARKER:
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    return comments, set(comments) - code_lines


def _is_reason(comment: str | None) -> bool:
    if not comment:
        return False
    return bool(re.sub(r"[\W_]+", "", DIRECTIVE.sub("", comment)))


def inner_imports(modules: dict[str, Module]) -> list[InnerImport]:
    """Every import statement or dynamic-import call inside a function, method or lambda."""
    found = []
    for module in modules.values():
        lines = module.path.read_text(encoding="utf-8").splitlines()
        for node, inner in _walk(_parse(module)):
            if inner and (
                isinstance(node, ast.Import | ast.ImportFrom) or _dynamic_import_call(node)
            ):
                text = lines[node.lineno - 1].strip()
                found.append(
                    InnerImport(module.path, node.lineno, node.end_lineno or node.lineno, text)
                )
    return sorted(found, key=lambda i: (str(i.path), i.line))


def unexplained_inner_imports(modules: dict[str, Module]) -> list[InnerImport]:
    """The inner imports without a reason: a comment on one of the statement's lines, or on
    comment-only lines directly above it. A run of imports on consecutive lines shares the comment
    above its first statement. ``# noqa``, ``# type: ignore`` and ``# pragma`` are not reasons."""
    imports = inner_imports(modules)
    by_path: dict[Path, list[InnerImport]] = {}
    for imp in imports:
        by_path.setdefault(imp.path, []).append(imp)
    missing = []
    for path, found in by_path.items():
        comments, comment_only = _comments(path.read_text(encoding="utf-8"))
        starts_of_runs = {imp.end_line: imp.line for imp in found}
        for imp in found:
            if any(_is_reason(comments.get(n)) for n in range(imp.line, imp.end_line + 1)):
                continue
            above = imp.line - 1
            while above in starts_of_runs and above not in comment_only:
                above = starts_of_runs[above] - 1  # the statement above is an import too
            if above in comment_only and _is_reason(comments.get(above)):
                continue
            missing.append(imp)
    return missing


# --------------------------------------------------------------------------- long files
def long_files_without_reason(modules: dict[str, Module], limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` for each file above ``limit`` lines whose docstring gives no reason."""
    offenders = []
    for module in modules.values():
        text = module.path.read_text(encoding="utf-8")
        count = len(text.splitlines())
        if count <= limit:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not LONG_REASON.search(doc):
            offenders.append(f"{show_path(module.path)}: {count} lines")
    return offenders


# --------------------------------------------------------------------------- layers
def _covers(prefix: str, name: str, root: str) -> bool:
    if prefix == root:
        return name == root
    return name == prefix or name.startswith(prefix + ".")


def layer_of(
    name: str, layers: list[tuple[str, tuple[str, ...]]], root: str = "tracknet"
) -> int | None:
    """The index of ``name``'s layer in ``layers`` (the longest matching prefix wins), or None."""
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if _covers(prefix, name, root) and (best is None or len(prefix) > best[1]):
                best = (i, len(prefix))
    return None if best is None else best[0]


def layer_violations(
    edges: Iterable[Edge],
    modules: Iterable[str],
    layers: list[tuple[str, tuple[str, ...]]],
    forbidden: list[tuple[str, str]] = (),
    root: str = "tracknet",
) -> list[str]:
    """Modules without a layer, and every edge that looks up the layers or is forbidden.

    A package ``__init__`` run on the way to a submodule is judged only when it sits in another
    layer than the submodule (else the submodule's own edge says it all)."""
    problems = [
        f"{name}: in no layer; add it to LAYERS in tests/test_layout.py"
        for name in sorted(modules)
        if layer_of(name, layers, root) is None
    ]
    seen = set()
    broken = []
    for e in edges:
        low, high = layer_of(e.source, layers, root), layer_of(e.target, layers, root)
        if low is None or high is None or (e.source, e.target) in seen:
            continue
        if e.implicit and layer_of(e.via, layers, root) == high:
            continue
        seen.add((e.source, e.target))
        how = " through its package __init__" if e.implicit else ""
        if high > low:
            broken.append(
                f"{e.where()}: {e.source} ({layers[low][0]}) imports {e.target} "
                f"({layers[high][0]}){how}"
            )
            continue
        for below, above in forbidden:
            if _covers(below, e.source, root) and _covers(above, e.target, root):
                broken.append(
                    f"{e.where()}: {e.source} imports {e.target}{how}: {below} never uses {above}"
                )
    return problems + sorted(broken)


# --------------------------------------------------------------------------- what an import loads
_LOADS = """
import importlib, json, sys
names, banned = json.loads(sys.argv[1]), json.loads(sys.argv[2])
found = []
for name in names:
    before = {b for b in banned if b in sys.modules}
    importlib.import_module(name)
    found += [[name, b] for b in banned if b in sys.modules and b not in before]
print(json.dumps(found))
"""


def modules_loading(
    names: Iterable[str], banned: Iterable[str], path: Path = REPO_ROOT
) -> list[str]:
    """``"module loads heavy"`` for each of ``banned`` (top-level module names) that importing
    ``names`` one by one, in a fresh interpreter with ``path`` first on ``sys.path``, loads; each
    is blamed on the first module whose import brought it in. This one runs the imports (the
    other checks parse): what a module loads through its imports is only known at run time."""
    result = subprocess.run(
        [sys.executable, "-c", _LOADS, json.dumps(list(names)), json.dumps(list(banned))],
        capture_output=True,
        text=True,
        cwd=path,
        env={**os.environ, "PYTHONPATH": str(path)},
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing failed:\n{result.stderr}")
    return [f"{name} loads {heavy}" for name, heavy in json.loads(result.stdout)]
