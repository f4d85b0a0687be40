"""Each stage's code deps in dvc.yaml are exactly the project files it can run.

The closure follows every import in a file, lazy ones inside functions included, and the registry's
"mixdistill.pkg.module:Class" strings (importlib imports them by name). A file missing from a stage's deps
means an edit to it leaves stale results marked up to date; an extra one means needless reruns.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"mixdistill": ROOT / "src" / "mixdistill", "stages": ROOT / "stages"}
REGISTRY_STRING = re.compile(r"^(mixdistill(?:\.\w+)+)(?::\w+)?$")


def module_file(name: str) -> Path | None:
    """The project file of a dotted module name (a package's __init__.py), or None outside the project."""
    top, *rest = name.split(".")
    if top not in PACKAGES:
        return None
    base = PACKAGES[top].joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(path: Path, module: str) -> set[str]:
    """Every module name `path` may import: top-level and lazy imports, relative ones resolved, registry strings."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            names.add(source)
            names |= {f"{source}.{a.name}" for a in node.names}  # `from pkg import submodule`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = REGISTRY_STRING.match(node.value)
            if m:
                names.add(m.group(1))
    return names


def closure(module: str) -> set[str]:
    """Project files (paths relative to the repo root) that running `python -m module` can execute."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            sub = ".".join(parts[:i])
            f = module_file(sub)
            if f is None or f in seen:
                continue
            seen.add(f)
            todo += imported_names(f, sub)
    return {str(f.relative_to(ROOT)) for f in seen}


def stage_code() -> dict[str, tuple[str, set[str], list[str]]]:
    """stage -> (entry module, its .py deps, its deps that are folders of code) from dvc.yaml as written."""
    out = {}
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        body = stage.get("do", stage)
        entry = re.search(r"-m (stages\.\w+)", body["cmd"]).group(1)
        deps = [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])]
        code = {d for d in deps if d.endswith(".py")}
        folders = [d for d in deps if d.startswith(("src", "stages")) and not d.endswith(".py")]
        out[name] = (entry, code, folders)
    return out


STAGES = stage_code()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_are_its_import_closure(stage):
    entry, code, folders = STAGES[stage]
    assert not folders, f"{stage}: list code files, not folders (a folder hashes whatever lands in it): {folders}"
    need = closure(entry)
    missing, extra = sorted(need - code), sorted(code - need)
    assert not missing and not extra, f"dvc.yaml stage {stage!r} ({entry}): add deps {missing}; remove deps {extra}"


def test_closure_follows_lazy_relative_and_registry_imports():
    teach, train, evaluate = closure("stages.teach"), closure("stages.train"), closure("stages.evaluate")
    # the registry names every backend by string; teach can run any of them
    assert {"src/mixdistill/backends/vllm.py", "src/mixdistill/backends/openai.py", "src/mixdistill/backends/solvers.py"} <= teach
    # evaluation builds its backend through the same registry
    assert {"src/mixdistill/backends/registry.py", "src/mixdistill/backends/vllm.py"} <= evaluate
    # every stage runs the prompt builder's module when it builds prompts, and the config always; the config's
    # check command (config/__main__.py, which imports TRL) is run by no stage
    for files in (teach, train, evaluate):
        assert {"src/mixdistill/config/__init__.py", "src/mixdistill/errors.py", "stages/_common.py"} <= files
        assert "src/mixdistill/config/__main__.py" not in files
    assert "src/mixdistill/prompts.py" in train and "src/mixdistill/prompts.py" in evaluate
    assert "src/mixdistill/teachers.py" not in train  # narrow by design: train does not run teacher code


def test_dvcignore_keeps_bytecode_and_editor_files_out_of_hashes():
    patterns = (ROOT / ".dvcignore").read_text().split()
    for p in ("__pycache__/", "*.pyc", "*.swp", ".ipynb_checkpoints/"):
        assert p in patterns
