"""The twins of the GPU profiles (python -m mixdistill.rehearse): derived in milliseconds here, run for real under
`dvc repro` by `make rehearse-all` (its own step of .ci/run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from mixdistill.config import parse_config
from mixdistill.rehearse import MARKER, TwinError, project_folder, twin

from ..conftest import ROOT

GPU_PROFILES = ["paper-qwen", "paper-llama", "gpu-small", "paper-released", "paper-released-remix"]


@pytest.mark.parametrize("name", GPU_PROFILES)
def test_every_gpu_profile_has_a_valid_twin_with_the_same_graph_and_settings(name):
    profile = yaml.safe_load((ROOT / "profiles" / f"{name}.yaml").read_text())
    params, files, notes = twin(profile, f"profiles/{name}.yaml", ROOT)
    cfg = parse_config(params, "twin", ROOT)
    # what stays: seeds, recipes' weights, sft keys and their values but lengths, overrides of kept runs, the launcher
    assert (params["seed"], params["mix"], params["train"]["seeds"]) == (profile["seed"], {
        **profile["mix"], "released": params["mix"]["released"]}, profile["train"]["seeds"])
    assert set(params["train"]["sft"]) == set(profile["train"]["sft"])
    sizes = ("max_length", "num_train_epochs")  # what a twin shrinks
    assert {k: v for k, v in params["train"]["sft"].items() if k not in sizes} == \
        {k: v for k, v in profile["train"]["sft"].items() if k not in sizes}
    assert params["train"]["sft"].get("num_train_epochs", 1) == 1
    launch = profile["train"]["launch"].split()  # accelerate launch: the same launch command without accelerate's CLI
    if launch[:2] == ["accelerate", "launch"]:
        launch = ["python", "-m", "accelerate.commands.launch", *launch[2:]]
    assert params["train"]["launch"].split() == launch and params["train"]["method"] == profile["train"]["method"]
    assert set(params["problems"]["benchmarks"]) == set(profile["problems"]["benchmarks"])
    # what changes: sizes, students (random, real architecture and vocabulary), teachers (stand-ins), data (packaged)
    for s in cfg.students.values():
        assert s.source == "random" and s.random.vocab_size in (151936, 152064, 128256)
        assert s.random.hidden // s.random.heads == 64  # the real head size (vLLM's CPU attention needs it)
    assert all(src.source in ("registry", "package") for src in cfg.problems.train)
    assert all(getattr(src, "origin", "package") == "package" for src in cfg.problems.benchmarks.values())
    methods = {cfg.train_for(s, None).method for s in cfg.students}
    assert methods == {cfg.train_for(s, None).method for s in parse_config(profile, "p", ROOT).students}
    for role in ("long", "short", "large", "small"):
        rows = [json.loads(x) for x in files[f"twin/teachers/{role}.jsonl"].splitlines()]
        assert len(rows) >= 4 and all("boxed" in list(r.values())[-1] for r in rows)
    if "--config_file" in profile["train"]["launch"]:
        acc = yaml.safe_load(files[profile["train"]["launch"].split()[-1]])
        assert (acc["num_processes"], acc["use_cpu"]) == (2, True)
    assert any(n.startswith("teachers.long:") for n in notes)


def test_a_launch_config_given_with_equals_runs_on_two_cpu_processes_too():
    """`--config_file=FILE` is accelerate's too: the twin writes its CPU copy as for `--config_file FILE`, never
    leaving the GPU config (bf16, 8 processes) to launch on CPU."""
    profile = yaml.safe_load((ROOT / "profiles" / "paper-qwen.yaml").read_text())
    profile["train"]["launch"] = "accelerate launch --config_file=configs/accelerate/deepspeed_zero3.yaml"
    params, files, notes = twin(profile, "profiles/paper-qwen.yaml", ROOT)
    acc = yaml.safe_load(files["configs/accelerate/deepspeed_zero3.yaml"])
    assert (acc["num_processes"], acc["use_cpu"], acc["mixed_precision"]) == (2, True, "no")
    assert params["train"]["launch"] == \
        "python -m accelerate.commands.launch --config_file=configs/accelerate/deepspeed_zero3.yaml"


def test_the_twins_launcher_is_the_accelerate_launch_command():
    """A twin runs `accelerate launch` as `python -m accelerate.commands.launch`: the module whose `main` accelerate's
    own accelerate-launch script runs, with the parser `accelerate launch` registers."""
    from importlib.metadata import entry_points

    from accelerate.commands import accelerate_cli, launch

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "accelerate-launch"]
    assert script.value == "accelerate.commands.launch:main"
    assert accelerate_cli.launch_command_parser is launch.launch_command_parser


def test_a_profile_without_a_twin_rule_is_named():
    profile = yaml.safe_load((ROOT / "profiles" / "paper-qwen.yaml").read_text())
    profile["students"]["qwen25_05b"]["family"] = "mistral"
    with pytest.raises(TwinError, match="students.qwen25_05b: no twin rule for family 'mistral'; known: qwen2.5, llama3"):
        twin(profile, "p", ROOT)


def test_print_into_a_closed_pipe_leaves_no_traceback():
    """`python -m mixdistill.rehearse PROFILE --print | head`: when the reader has gone (here before the first line;
    `head` goes after its lines), the command exits 1 and stderr holds no traceback."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "mixdistill.rehearse", "profiles/paper-qwen.yaml", "--print"],
                              cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_out_replaces_an_earlier_twin_and_refuses_any_other_folder(tmp_path):
    """`--out DIR` twice must rehearse everything twice: an earlier twin left in DIR (say, killed mid-run) would
    otherwise let `dvc repro` skip its up-to-date stages. A folder that is not a twin's is never deleted."""
    earlier = tmp_path / "twin"
    (earlier / "models").mkdir(parents=True)
    (earlier / "models" / "stale.bin").write_bytes(b"old")
    (earlier / MARKER).write_text('{"profile": "profiles/gpu-small.yaml"}')
    assert project_folder(str(earlier)) == earlier and list(earlier.iterdir()) == []

    new = tmp_path / "a" / "b"
    assert project_folder(str(new)).is_dir() and list(new.iterdir()) == []

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (mine / MARKER).write_text('"profile"')  # not what a rehearsal writes
    with pytest.raises(TwinError, match=r"--out .*mine: the folder is not empty and holds no earlier twin"):
        project_folder(str(mine))
    assert (mine / "notes.txt").read_text() == "keep me"


def test_a_refused_out_folder_is_an_error_line_not_a_traceback(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    proc = subprocess.run([sys.executable, "-m", "mixdistill.rehearse", "profiles/gpu-small.yaml", "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: --out {tmp_path}: the folder is not empty"), proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("text, message", [
    (None, "cannot read the profile: No such file or directory"),
    ("seed: [1\n", "not valid YAML: while parsing a flow sequence"),
    ("[1, 2]\n", "a profile is a params mapping (as params.yaml), not list"),
    ("seed: 1\n", "is invalid (8 problem(s)):\n  - prompt: Field required"),
], ids=["missing", "not yaml", "not a mapping", "invalid params"])
@pytest.mark.parametrize("mode", [["--print"], ["--out", "unused"]])
def test_a_bad_profile_is_one_error_naming_the_file(tmp_path, capsys, text, message, mode):
    from mixdistill.rehearse import main

    profile = tmp_path / "profile.yaml"
    if text is not None:
        profile.write_text(text)
    out = [w if w != "unused" else str(tmp_path / "twin") for w in mode]
    assert main([str(profile), *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {profile}") and message in err, err
    assert not (tmp_path / "twin").exists()  # refused before any work
