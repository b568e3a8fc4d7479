"""The package's layers, read from its imports (ast): each subpackage imports only the layers below it.

    common            nothing above it
    tools             external search tools (common)
    install           catalog, manifest, downloads, integrity (common, tools)
    features          the raw feature dict's format: names, shapes, npz files (common)
    msa, templates    MSA formats and features; template search and featurisation
    model             the JAX model and its parameter files (common only: never plan, install or a command)
    relax, metrics    OpenMM relaxation; structure comparison
    report            per-target outputs, summaries, regression verdicts
    plan              DAG planning: cache keys need the stages' own key functions (msa, templates, tools'
                      versions) and the model's parameter-file records; the Snakefile imports it, so importing
                      it never imports JAX or haiku
    cli               one module per command; nothing imports it

An import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "snakefold"
#: layer -> the layers it may import (itself always)
ALLOWED = {
    "common": set(),
    "tools": {"common"},
    "install": {"common", "tools"},
    "features": {"common"},
    "msa": {"common", "tools", "features"},
    "templates": {"common", "tools", "install", "features", "msa"},
    "model": {"common"},
    "relax": {"common"},
    "metrics": {"common"},
    "report": {"common", "metrics"},
    "plan": {"common", "tools", "install", "features", "msa", "templates", "model"},
    "cli": {"common", "tools", "install", "msa", "templates", "features", "model", "relax", "metrics", "report",
            "plan"},
}
#: Modules a plan module may import from the model layer: records of parameter files, no JAX.
PLAN_MODEL_MODULES = {"snakefold.model.param_sets", "snakefold.model.length_buckets"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def test_every_module_belongs_to_a_layer():
    layers = {_layer(path) for path in PACKAGE.rglob("*.py") if path.parent != PACKAGE}
    assert layers == set(ALLOWED), "a new subpackage needs its place in ALLOWED and in the docstring"
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_no_module_imports_a_layer_above_it():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(path)
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] != "snakefold" or len(parts) < 2 or not (PACKAGE / parts[1]).is_dir():
                continue
            if parts[1] != layer and parts[1] not in ALLOWED[layer]:
                violations.append(f"{path.relative_to(REPO_ROOT)}:{line}: {layer} imports {name}")
    assert violations == []


def test_planning_imports_no_jax():
    """What the Snakefile imports while it builds the DAG loads neither JAX nor haiku (seconds per run)."""
    wrong = [f"{path.relative_to(REPO_ROOT)}:{line}: imports {name}" for path in sorted((PACKAGE / "plan").rglob("*.py"))
             for line, name in _imports(path)
             if name.startswith("snakefold.model")
             and not any(name == module or name.startswith(f"{module}.") for module in PLAN_MODEL_MODULES)]
    assert wrong == []
    modules = [f"snakefold.plan.{path.stem}" for path in sorted((PACKAGE / "plan").glob("*.py"))]
    probe = "import sys\n" + "".join(f"import {module}\n" for module in modules) + \
            "print(sorted({'jax', 'jaxlib', 'haiku'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert loaded.stdout.strip() == "[]"


def test_the_layer_check_sees_a_violation(tmp_path):
    """The walk itself: an upward import inside a function is found."""
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from snakefold.cli.intake import run\n")
    assert (2, "snakefold.cli.intake") in _imports(module)


def _workflow_imports() -> list[str]:
    """The modules the Snakefile and its rule files import at their top level (what parsing them loads)."""
    files = [REPO_ROOT / "Snakefile", *sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk"))]
    modules = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if line.startswith("import "):
                modules.extend(name.strip() for name in line[len("import "):].split(","))
            elif line.startswith("from ") and len(words) > 2 and words[2] == "import":
                modules.append(words[1])
    return modules


def test_parsing_the_snakefile_loads_no_heavy_library():
    """Every job parses the Snakefile again: what it imports loads neither JAX nor matplotlib, OpenMM or SciPy."""
    modules = _workflow_imports()
    assert "snakefold.plan.run" in modules and "snakefold.report.run_outcome" in modules
    probe = "import sys\n" + "".join(f"import {module}\n" for module in modules) + \
            "print(sorted({'jax', 'haiku', 'matplotlib', 'openmm', 'scipy'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert loaded.stdout.strip() == "[]"


def test_plan_modules_import_each_other_without_a_cycle():
    """plan/'s modules form a DAG of imports (type-only imports counted): each stage's planning can be read and
    tested alone."""
    modules = {path.stem: path for path in (PACKAGE / "plan").glob("*.py")}
    graph = {stem: {name.split(".")[2] for _, name in _imports(path)
                    if name.startswith("snakefold.plan.") and name.split(".")[2] in modules} - {stem}
             for stem, path in modules.items()}
    state: dict[str, str] = {}

    def cycle_from(module: str, trail: list[str]) -> list[str] | None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return [*trail, module, imported]
            if imported not in state:
                found = cycle_from(imported, [*trail, module])
                if found:
                    return found
        state[module] = "done"
        return None

    cycles = [cycle for module in sorted(graph) if module not in state for cycle in [cycle_from(module, [])] if cycle]
    assert cycles == []


def test_the_library_never_takes_the_whole_config():
    """The run's config is read in plan/ (and by commands); the library's functions take typed settings, sections
    or plain values: no function outside plan/ and cli/ has a ``config`` parameter that is a dict or mapping (the
    model's ``config: ModelConfig`` is its typed architecture)."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if _layer(path) in ("plan", "cli") or path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                raw = [arg for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                       if arg.arg == "config" and arg.annotation is not None and (ast.unparse(arg.annotation).startswith(
                           ("dict", "Mapping", "typing.Mapping", "Dict")))]
                if raw:
                    found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}")
    assert found == []
