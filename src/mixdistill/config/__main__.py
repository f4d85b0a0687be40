"""`python -m mixdistill.config check FILE...`: validate params files and profiles without running anything.

Parsing checks every key (what each stage also does first); this command also looks up every installed package and
local file the params name, reading one item of each problem source as the problems stage reads it (a reasoning-gym
task and config, a packaged or local file's fields), and builds every run's TRL SFTConfig, which catches values TRL
rejects (it imports TRL, so the stages leave it to the train stage). Hub ids are left to the stages that fetch them.
Prints every problem and exits 1 if any file has one.

A hub model or dataset whose `revision` is not a commit hash gets a warning (the file still passes): a branch
or tag can move between runs. Each run records the commit it loaded, so a profile can be pinned after its first run.

`python -m mixdistill.config schema [--check]` writes docs/params.md and configs/params.schema.json from the schema
(see reference.py); with --check it only says which is stale (exit 1).

`python -m mixdistill.config hub FILE` lists the Hugging Face hub artefacts the file names (key, id and revision,
one per line; nothing for the embedded default): the Makefile runs offline exactly when there are none.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..hub import is_hub, is_pinned
from ..study import RECIPES, ROLES
from . import Config, ConfigError, HubSource, RegistrySource, load_config


def check_training(cfg: Config) -> list[str]:
    """Build every run's TRL SFTConfig (values, not only names: what parsing cannot see without TRL)."""
    from ..train import sft_config

    problems = []
    for student in cfg.students:
        for recipe in RECIPES:
            try:
                sft_config(cfg.train_for(student, recipe), cfg.seed, ".cache/check")
            except (TypeError, ValueError) as exc:
                problems.append(f"train.sft (run {student}-{recipe}): TRL's SFTConfig rejected it: {exc}")
    return problems


def check_files(cfg: Config) -> list[str]:
    """Every installed package and local file the params name, looked up as the stages will look (paths relative to
    the current folder, as dvc runs them from the project root); hub ids are left to the stages that fetch them."""
    from ..errors import DataError
    from ..models import gguf_path
    from ..problems import load_source

    def local_missing(ref: str | None) -> bool:
        return bool(ref) and not is_hub(ref) and not Path(ref).exists()

    problems = []
    sources = [(f"problems.train[{i}]", s.task or f"train{i}", s, False) for i, s in enumerate(cfg.problems.train)]
    sources += [(f"problems.benchmarks.{n}", n, s, True) for n, s in cfg.problems.benchmarks.items()]
    for key, name, src, benchmark in sources:
        # the problems stage's own reading, of one item: a reasoning-gym task and its config, a packaged or local
        # file with its fields and rows; hub datasets are read by the stage
        if not isinstance(src.resolve() if isinstance(src, RegistrySource) else src, HubSource):
            try:
                load_source(src, cfg.seed, name, size=1, benchmark=benchmark)
            except DataError as exc:
                problems.append(f"{key}: {exc}")
    for name, st in cfg.students.items():
        if st.source == "gguf" or (st.source == "random" and not st.path):  # a GGUF file (random: its tokenizer)
            try:
                gguf_path(st)
            except (FileNotFoundError, DataError) as exc:
                problems.append(f"students.{name}: {exc}")
        elif local_missing(st.path):
            problems.append(f"students.{name}.path: {st.path} does not exist (paths are relative to the project "
                            "root)")
    for role in ROLES:
        t = cfg.teacher(role)
        if t.backend in ("transformers", "vllm", "dataset") and local_missing(t.model):
            problems.append(f"teachers.{role}.model: {t.model} does not exist (paths are relative to the project root)")
    problems += [f"mix.released.{recipe}.dataset: {rel.dataset} does not exist (paths are relative to the project "
                 "root)" for recipe, rel in cfg.mix.released.items() if local_missing(rel.dataset)]
    return problems


def hub_artefacts(cfg: Config) -> list[tuple[str, str, str | None]]:
    """(key, hub id, revision) of every model and dataset the params would fetch from the hub: ids that are not
    local paths; the key is where the revision goes (KEY's parent.revision)."""
    found = []
    sources = [(f"problems.train[{i}]", s) for i, s in enumerate(cfg.problems.train)]
    for key, src in sources + [(f"problems.benchmarks.{n}", s) for n, s in cfg.problems.benchmarks.items()]:
        src = src.resolve() if isinstance(src, RegistrySource) else src
        if isinstance(src, HubSource):
            found.append((key, src.path, src.revision))
    for name, st in cfg.students.items():
        if getattr(st, "package", "") == "" and is_hub(getattr(st, "path", "")):
            found.append((f"students.{name}", st.path, st.revision))
    for role in ROLES:
        t = cfg.teacher(role)
        if t.backend in ("transformers", "vllm", "dataset") and is_hub(t.model):
            found.append((f"teachers.{role}", t.model, t.revision))
    for recipe, rel in cfg.mix.released.items():
        if is_hub(rel.dataset):
            found.append((f"mix.released.{recipe}", rel.dataset, rel.revision))
    return found


def unpinned(cfg: Config) -> list[str]:
    """A warning for every hub artefact whose revision is not a commit: a branch or tag can move under a run."""
    return [f"warning: {key}.revision: {ref} at {rev or 'main (unset)'} is not pinned to a commit; a run records "
            f"the commit it loaded (`commit` in its provenance): set {key}.revision to it"
            for key, ref, rev in hub_artefacts(cfg) if not is_pinned(rev)]


def main(argv: list[str] | None = None) -> int:
    """`python -m mixdistill.config check|hub FILE...` or `schema`: validate params files without running anything,
    list their hub artefacts, or write the params reference."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.config", description=main.__doc__)
    p.add_argument("command", choices=["check", "hub", "schema"])
    p.add_argument("files", nargs="*", help="params files or profiles (check, hub)")
    p.add_argument("--no-trl", action="store_true", help="skip building TRL's SFTConfig for every run")
    p.add_argument("--check", action="store_true", help="schema: exit 1 if a generated file is stale; write nothing")
    args = p.parse_intermixed_args(argv)
    if args.command == "schema":
        from .reference import write

        root = Path(".")  # run from the project root, as dvc
        if not all((root / d).is_dir() for d in ("docs", "configs")):
            print(f"schema: run from the project root (no docs/ and configs/ folders in {root.resolve()})",
                  file=sys.stderr)
            return 2
        stale = write(root, check=args.check)
        for rel in stale:
            print(f"{rel}: {'stale: run python -m mixdistill.config schema' if args.check else 'written'}",
                  file=sys.stderr if args.check else sys.stdout)
        return 1 if stale and args.check else 0
    if not args.files:
        p.error(f"{args.command} needs at least one params file")
    if args.command == "hub":
        try:
            for f in args.files:
                for key, ref, rev in hub_artefacts(load_config(f, missing=f"looked in {Path.cwd()}")):
                    print(f"{key}\t{ref}\t{rev or 'main'}")
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    failed = 0
    for f in args.files:
        try:
            cfg = load_config(f, missing=f"looked in {Path.cwd()}")
            problems = check_files(cfg) + ([] if args.no_trl else check_training(cfg))
            if problems:
                raise ConfigError(problems, f)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        warnings = unpinned(cfg)
        print(f"{f}: ok" + (f" ({len(warnings)} unpinned hub artefact(s))" if warnings else ""))
        for w in warnings:
            print(f"{f}: {w}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
