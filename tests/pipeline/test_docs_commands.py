"""Every documented command still works. README.md and docs/*.md mark their command blocks:

- ```bash run: run as written, in order, in a copy of the tiny pipeline's committed run (the tiny profile stands in
  for the default: the same graph and keys, minutes less);
- ```bash check: not run (they need minutes, a GPU, a server or the network); each line's shell syntax, params keys
  (`-S key=value`), make targets (`make -n`), modules (`python -m`), DVC subcommands and files must exist.
A failure names the file and line of the command. Every relative link and every `src/…`, `tests/…` (and the like)
path the pages name must exist too.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess

import yaml

from ..conftest import ROOT, committed
from .conftest import _env, sh

BLOCK = re.compile(r"^```bash (run|check)\n(.*?)^```", re.M | re.S)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DVC_COMMANDS = {"exp", "queue", "metrics", "params", "plots", "repro", "push", "pull", "remote", "status", "checkout"}


def documented(kind: str) -> list[tuple[str, str]]:
    """(where, command) of every line in the blocks of `kind`, in file order; where is FILE:LINE."""
    out = []
    for f in PAGES:
        text = f.read_text()
        for m in BLOCK.finditer(text):
            if m.group(1) != kind:
                continue
            first = text[: m.start(2)].count("\n") + 1
            for i, line in enumerate(m.group(2).splitlines()):
                words = shlex.split(line, comments=True)
                if words:
                    cmd = line[: line.index(" #")] if " #" in line else line
                    out.append((f"{f.relative_to(ROOT)}:{first + i}", cmd.strip()))
    return out


def _has_key(params: dict, key: str) -> bool:
    node = params
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def problems_of(cmd: str, params: dict) -> list[str]:
    """What is wrong with a command that is checked, not run."""
    bad = []
    if subprocess.run(["bash", "-n", "-c", cmd], capture_output=True).returncode:
        return ["not valid shell"]
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    parts, words = [], []
    for tok in lex:  # simple commands, split at the shell's operators (quotes respected)
        if tok in ("&&", "||", ";", "|", "&", "(", ")", "$("):
            parts.append(words)
            words = []
        else:
            words.append(tok)
    for words in [*parts, words]:
        if not words or words[0] in ("while", "do", "done", "then", "fi", "sleep"):
            continue
        for i, w in enumerate(words):
            if w == "-S" and i + 1 < len(words):
                key = words[i + 1].split("=", 1)[0]
                if not _has_key(params, key):
                    bad.append(f"params key {key!r} does not exist")
            if re.fullmatch(r"[\w./-]+\.(yaml|sh|py|md)", w) and "/" in w and w != "out.md" and not (ROOT / w).exists():
                bad.append(f"file {w} does not exist")
        if words[0] == "make":
            targets = [w for w in words[1:] if "=" not in w]
            p = subprocess.run(["make", "-n", "-C", str(ROOT), *targets, *[w for w in words[1:] if "=" in w]],
                               capture_output=True, text=True)
            if p.returncode:
                bad.append(f"make -n {' '.join(targets)}: {p.stderr.strip()[-200:]}")
        if words[0] == "python" and words[1:2] == ["-m"] and importlib.util.find_spec(words[2]) is None:
            bad.append(f"module {words[2]} does not exist")
        if words[0] == "dvc" and words[1] not in DVC_COMMANDS:
            bad.append(f"dvc {words[1]}: not a DVC command this project uses")
    return bad


def test_checked_commands_name_only_keys_targets_modules_and_files_that_exist():
    params = yaml.safe_load(committed("params.yaml"))
    cmds = documented("check")
    assert len(cmds) >= 10
    broken = [f"{where}: {cmd}: {'; '.join(p)}" for where, cmd in cmds if (p := problems_of(cmd, params))]
    assert not broken, "\n".join(broken)


def test_a_broken_key_in_a_checked_command_is_caught():
    params = yaml.safe_load(committed("params.yaml"))
    assert problems_of("dvc exp run -S mix.wieght=0.3", params) == ["params key 'mix.wieght' does not exist"]
    assert problems_of("make rehaerse", params)[0].startswith("make -n rehaerse")


def test_run_commands_run_as_written_on_the_tiny_pipeline(repo):
    cmds = documented("run")
    assert any(c.startswith("dvc exp run") for _, c in cmds) and any("mixdistill.compare" in c for _, c in cmds)
    outputs = {}
    for where, cmd in cmds:
        p = subprocess.run(["bash", "-c", cmd], cwd=repo, env=_env(), capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"{where}: `{cmd}` failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        outputs[cmd] = p.stdout
    # the comparison: a header, then one line per experiment (workspace, the baseline, the weight experiment), the
    # outcomes with their intervals, the changed param, no dependency hash
    compare = next(out for cmd, out in outputs.items() if "mixdistill.compare" in cmd).splitlines()
    experiments = [n for n in sh(repo, "dvc", "exp", "list", "--name-only").split() if n]
    assert len(compare) == 1 + 2 + len(experiments), compare
    assert compare[0].split()[:3] == ["experiment", "mix.weight", "student"] and "Mix-Long gain" in compare[0]
    assert all(re.search(r"-?\d+\.\d \[-?\d+\.\d, -?\d+\.\d\]", line) for line in compare[1:]), compare
    assert not any(re.search(r"\b[0-9a-f]{32}\b", line) for line in compare)


LINK = re.compile(r"\]\(([^)#\s]+)")
TRACKED_PATH = re.compile(r"`((?:src|stages|tests|scripts|configs|profiles|docs|\.github|\.ci)/[\w./-]+)`")


def dangling(f) -> list[str]:
    """Relative links (resolved from the page's folder) and `repo/paths` in backticks that name nothing."""
    text = f.read_text()
    bad = [f"link ({t})" for t in LINK.findall(text) if "://" not in t and not (f.parent / t).exists()]
    return bad + [f"`{p}`" for p in TRACKED_PATH.findall(text) if not (ROOT / p.rstrip(".")).exists()]


def test_every_link_and_path_the_docs_name_exists():
    broken = [f"{f.relative_to(ROOT)}: {d}" for f in PAGES for d in dangling(f)]
    assert not broken, "\n".join(broken)


def test_a_link_from_the_wrong_folder_is_caught(tmp_path):
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text("see [the study](docs/cpu-study.md), [here](cpu-study.md) and `tests/unit/test_nothing.py`\n")
    (tmp_path / "docs" / "cpu-study.md").write_text("")
    assert dangling(page) == ["link (docs/cpu-study.md)", "`tests/unit/test_nothing.py`"]
