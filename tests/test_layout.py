"""The house keeps its shape (README, "Layout"): every import points to the module's own room or
a lower one, no modules import each other in a circle, imports sit at the top of the module
unless a ``# lazy:`` comment says why (an optional extra, or a measured start-up cost), and
the root holds only what it should. Old module paths still import, with a FutureWarning.

A short AST walk over the package, by hand: import-linter would need its own configuration
format for the same three rules.
"""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest
from hydra.utils import get_class

import semcolor

PACKAGE = Path(semcolor.__file__).resolve().parent

#: The rooms, bottom to top; a module may import from its own room and those below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("semcolor", "semcolor.constants", "semcolor.hardware", "semcolor.weights"),
    ("semcolor.color",),
    ("semcolor.metrics",),
    ("semcolor.models",),
    ("semcolor.losses",),
    ("semcolor.data",),
    ("semcolor.inference",),
    ("semcolor.evaluation",),
    ("semcolor.lit",),
    ("semcolor.cli",),
)
#: What the root may hold besides the rooms (and why: semcolor/__init__.py's docstring).
ROOT_MODULES = {"__init__", "constants", "weights", "hardware"}
#: Reasons a lazy import may give.
LAZY_REASONS = ("optional extra", "start-up cost")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    for i, rooms in enumerate(LAYERS):
        for room in rooms:
            if module == room or (room != "semcolor" and module.startswith(room + ".")):
                return i
    raise AssertionError(f"{module} is in no room of LAYERS; add its room to the test and README")


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def semcolor_imports(module: str) -> list[tuple[str, ast.AST]]:
    """(imported semcolor module, import node) for every import in the module, at any depth."""
    path = MODULES[module]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node) for a in node.names if a.name.split(".")[0] == "semcolor"]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node, path.name == "__init__.py")
            if base.split(".")[0] != "semcolor":
                continue
            for a in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{base}.{a.name}"
                out.append((sub if sub in MODULES else base, node))
    return out


def _in_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(
        node.test
    )


def nested_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports inside a function or class (module-level ``if``/``try`` blocks count as top,
    ``if TYPE_CHECKING:`` blocks are skipped)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _in_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                if nested:
                    found.append(child)
                continue
            visit(child, nested or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda))

    visit(tree, False)
    return found


def lazy_reason(lines: list[str], node: ast.AST) -> str | None:
    """The ``# lazy:`` comment covering an import: on its own line(s), or above the run of
    imports (or the ``try:`` around them) it starts."""
    for ln in range(node.lineno - 1, node.end_lineno):
        if "# lazy:" in lines[ln]:
            return lines[ln].split("# lazy:", 1)[1]
    ln = node.lineno - 2
    while ln >= 0:  # up through imports, comments, blank lines and a `try:` around an import
        text = lines[ln].strip()
        if text.startswith("# lazy:"):
            return text.split("# lazy:", 1)[1]
        if not (text.startswith(("import ", "from ", ")", "#")) or text.endswith(",") or not text
                or text == "try:"):  # fmt: skip
            return None
        ln -= 1
    return None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as its modules in order, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := dfs(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := dfs(n)):
            return c
    return None


def import_graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in semcolor_imports(m) if t != m} for m in MODULES}


# ------------------------------------------------------------------------------ the rules
def test_no_module_imports_from_a_room_above_its_own():
    upward = []
    for module in MODULES:
        for target, node in semcolor_imports(module):
            if layer_of(target) > layer_of(module):
                upward.append(f"{module}:{node.lineno} imports {target}")
    assert not upward, "imports pointing upward (README, 'Layout'):\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "a circle of imports: " + " -> ".join(cycle)


def test_imports_sit_at_the_top_unless_a_comment_says_why():
    unexplained = []
    for module, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in nested_imports(ast.parse("\n".join(lines))):
            reason = lazy_reason(lines, node)
            if reason is None or not any(r in reason for r in LAZY_REASONS):
                unexplained.append(f"{module}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unexplained, (
        "imports inside functions without a '# lazy: optional extra ...' or "
        "'# lazy: start-up cost ...' comment:\n" + "\n".join(unexplained)
    )


def test_the_root_holds_only_init_constants_weights_and_hardware():
    loose = {p.stem for p in PACKAGE.glob("*.py")} - ROOT_MODULES
    assert not loose, f"modules loose in the package root: {sorted(loose)}"


# ------------------------------------------------------------------- the checks can fail
def test_the_checks_catch_an_upward_import_a_circle_and_a_bare_lazy_import():
    assert layer_of("semcolor.data.base") < layer_of("semcolor.inference.api")
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    src = "import os\n\ndef f():\n    import json\n\ndef g():\n    # lazy: optional extra (av)\n" \
          "    import av\n    import numpy\n    x = 1\n    import scipy\n"  # fmt: skip
    lines = src.splitlines()
    nodes = nested_imports(ast.parse(src))
    assert [n.lineno for n in nodes] == [4, 8, 9, 11]
    assert [lazy_reason(lines, n) is not None for n in nodes] == [False, True, True, False]
    with pytest.raises(AssertionError, match="in no room"):
        layer_of("semcolor.attic.thing")


# ------------------------------------------------------------------------ old module paths
@pytest.mark.parametrize("old", sorted(semcolor.MOVED))
def test_old_module_paths_import_the_new_module_with_a_future_warning(old):
    new = semcolor.MOVED[old]
    saved = sys.modules.pop(old, None)
    try:
        with pytest.warns(FutureWarning, match=rf"{old} moved to {new} .* goes in 0\.4\.0"):
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        assert old.rsplit(".", 1)[1] not in {p.stem for p in PACKAGE.glob("*.py")}
    finally:
        sys.modules.pop(old, None)
        if saved is not None:
            sys.modules[old] = saved


def test_old_paths_keep_their_names():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from semcolor.bench import calibrate_temperature, evaluate_images, list_dataset_images
        from semcolor.gan_losses import SCGANLoss
    from semcolor.evaluation import calibrate_temperature as c2
    from semcolor.inference import load_model, predict_ab, resolve_device  # a room now
    from semcolor.losses import MultiTaskLoss  # a room now
    from semcolor.losses import SCGANLoss as s2

    assert calibrate_temperature is c2 and SCGANLoss is s2
    # a run config stored before 0.3.0 (resumed with ckpt_path) names its loss by the old path
    with pytest.warns(FutureWarning, match="semcolor.gan_losses moved"):
        sys.modules.pop("semcolor.gan_losses", None)
        vars(semcolor).pop("gan_losses", None)  # as in a fresh process
        assert get_class("semcolor.gan_losses.SCGANLoss") is s2
    assert all(callable(f) for f in (evaluate_images, list_dataset_images, load_model,
                                     predict_ab, resolve_device, MultiTaskLoss))  # fmt: skip


def test_public_api_is_unchanged():
    for name in ("colorize", "Colorizer", "analyze", "load_model", "colorize_video",
                 "export_onnx", "Colorization"):  # fmt: skip
        assert callable(getattr(semcolor, name)), name


def test_every_room_is_in_the_wheel():
    """pyproject lists packages by name: a room missing there imports in a checkout but not
    after `pip install semcolor`."""
    tomllib = pytest.importorskip("tomllib")  # the standard library's from Python 3.11
    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"])  # fmt: skip
    rooms = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    assert rooms - listed == set(), f"add {sorted(rooms - listed)} to pyproject's packages"
