"""The package's shape: layers that import only downwards, no import cycles, no stray local imports.

Layers, lowest first (a module may import its own layer or lower ones, never a higher one):

0. ``theorem.util``: JSON, float64 scoping, timing, tiling, token families, the search driver;
1. ``theorem.kernels``: every kernel's mathematics;
2. ``theorem.symbolic`` (SymPy only) and ``theorem.strategies`` (Hypothesis strategies);
3. ``theorem.numeric`` and ``theorem.attention`` (JAX/NumPy measurements and algorithms);
4. ``theorem.training`` (the one optax loop and the models it trains);
5. ``theorem.real`` (a pretrained checkpoint, read and measured);
6. ``theorem.experiments`` and ``theorem.bench`` (the heavy sweeps and benchmarks);
7. ``theorem.claims`` (evidence → verdicts);
8. ``theorem.report``;
9. ``theorem.cli`` (and ``theorem.real_cli``); the package face ``theorem/__init__.py`` sits on top.

The imports are read with :mod:`ast`, at module level and inside functions alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "theorem"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("theorem.util",),
    ("theorem.kernels",),
    ("theorem.symbolic", "theorem.strategies"),
    ("theorem.numeric", "theorem.attention"),
    ("theorem.training",),
    ("theorem.real",),
    ("theorem.experiments", "theorem.bench"),
    ("theorem.claims",),
    ("theorem.report",),
    ("theorem.cli", "theorem.real_cli"),
)
FACE = "theorem"

#: imports that may stay inside a function: optional extras, absent without them
OPTIONAL_EXTRAS = {"safetensors", "tokenizers", "torch", "transformers", "ray", "flint", "playwright"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def layer_of(name: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    return None


def _resolve(target: str, known: dict[str, Path]) -> str | None:
    """The theorem module an import names (the longest known prefix), or None for third-party."""
    if not (target == "theorem" or target.startswith("theorem.")):
        return None
    parts = target.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in known:
            return cand
        parts.pop()
    return None


def _absolute(node: ast.ImportFrom, path: Path) -> str | None:
    """The absolute module name of ``from ... import`` (relative imports resolved against ``path``)."""
    if node.level == 0:
        return node.module
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def imports_of(path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported theorem module, line, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    mod = _resolve(alias.name, known)
                    if mod:
                        found.append((mod, child.lineno, local))
            elif isinstance(child, ast.ImportFrom) and (name := _absolute(child, path)):
                base = _resolve(name, known)
                for alias in child.names:
                    full = f"{name}.{alias.name}"
                    mod = full if full in known else base  # a submodule imported by name, or a name of `base`
                    if mod:
                        found.append((mod, child.lineno, local))
            visit(child, inner)

    visit(tree, False)
    return found


def third_party_local_imports(path: Path) -> list[tuple[str, int]]:
    """Imports inside functions (theorem's own or third-party), excluding the optional extras."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if local and isinstance(child, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in child.names] if isinstance(child, ast.Import) else [child.module or ""]
                for name in names:
                    if name.split(".")[0] not in OPTIONAL_EXTRAS:
                        out.append((name, child.lineno))
            visit(child, inner)

    visit(tree, False)
    return out


KNOWN = modules()
GRAPH = {name: imports_of(path, KNOWN) for name, path in KNOWN.items()}


def test_every_module_has_a_layer():
    stray = [m for m in KNOWN if m != FACE and layer_of(m) is None]
    assert not stray, f"modules outside every layer (add them to LAYERS or move them): {stray}"


def test_no_import_runs_up_a_layer():
    upward = []
    for name, edges in GRAPH.items():
        if name == FACE:
            continue
        here = layer_of(name)
        for target, line, _ in edges:
            there = layer_of(target)
            if target == FACE:
                upward.append(f"{name}:{line} imports the package face `theorem`")
            elif here is not None and there is not None and there > here:
                upward.append(f"{name}:{line} -> {target} (layer {here} -> {there})")
    assert not upward, "imports that run up the layers:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = {m: sorted({t for t, _, _ in edges if t != m and t != FACE}) for m, edges in GRAPH.items() if m != FACE}
    # a package's __init__ that re-exports its own modules is not a cycle with them
    for m in graph:
        graph[m] = [t for t in graph[m] if not (KNOWN[t].name == "__init__.py" and m.startswith(t + "."))]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_function_local_imports():
    local = [f"{name}:{line} imports {mod}" for name, path in KNOWN.items()
             for mod, line in third_party_local_imports(path)]
    assert not local, "imports inside functions (only optional extras may be imported there):\n" + "\n".join(local)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_module_fits_in_a_head(name):
    lines = KNOWN[name].read_text(encoding="utf-8").count("\n")
    assert lines <= 420, f"{name} has {lines} lines; split it along its seams (about 400 at most)"


def test_import_theorem_keeps_float32(tmp_path):
    """``import theorem`` (and its subpackages) changes no global JAX setting."""
    import subprocess
    import sys

    code = ("import theorem, theorem.claims, theorem.cli, theorem.attention\n"
            "import jax.numpy as jnp\nprint(jnp.ones(2).dtype)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "float32"
