"""`python -m mixdistill.config check FILE...`: validate params files and profiles without running anything.

Parsing checks every key (what each stage also does first); this command also builds every run's TRL SFTConfig,
which catches values TRL rejects (it imports TRL, so the stages leave it to the train stage).
Prints every problem and exits 1 if any file has one.

`python -m mixdistill.config hub FILE` lists the Hugging Face hub artefacts the file names (key and id, one per
line; nothing for the embedded default): the Makefile runs offline exactly when there are none.
"""

from __future__ import annotations

import sys

from pathlib import Path

from . import RECIPES, Config, ConfigError, HubSource, RegistrySource, load_config


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


def hub_artefacts(cfg: Config) -> list[tuple[str, str]]:
    """(key, hub id) of every model and dataset the params would fetch from the hub: ids that are not local paths."""
    def remote(ref: str | None) -> bool:
        return bool(ref) and not Path(ref).exists() and not ref.startswith((".", "/"))

    found = []
    for i, src in enumerate(cfg.problems.train):
        if isinstance(src, (HubSource, RegistrySource)):
            found.append((f"problems.train[{i}]", src.resolve().path if isinstance(src, RegistrySource) else src.path))
    for name, src in cfg.problems.benchmarks.items():
        if isinstance(src, (HubSource, RegistrySource)):
            found.append((f"problems.benchmarks.{name}", src.resolve().path if isinstance(src, RegistrySource) else src.path))
    for name, st in cfg.students.items():
        if getattr(st, "package", "") == "" and remote(getattr(st, "path", "")):
            found.append((f"students.{name}.path", st.path))
    for role in ("long", "short", "large", "small"):
        t = cfg.teacher(role)
        if t.backend in ("transformers", "vllm", "dataset") and remote(t.model):
            found.append((f"teachers.{role}.model", t.model))
    for recipe, rel in cfg.mix.released.items():
        if remote(rel.dataset):
            found.append((f"mix.released.{recipe}.dataset", rel.dataset))
    return found


def main(argv: list[str] | None = None) -> int:
    """`python -m mixdistill.config check FILE...`: validate params files without running anything."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.config", description=main.__doc__)
    p.add_argument("command", choices=["check", "hub"])
    p.add_argument("files", nargs="+", help="params files or profiles")
    p.add_argument("--no-trl", action="store_true", help="skip building TRL's SFTConfig for every run")
    args = p.parse_args(argv)
    if args.command == "hub":
        for f in args.files:
            for key, ref in hub_artefacts(load_config(f)):
                print(f"{key}\t{ref}")
        return 0
    failed = 0
    for f in args.files:
        try:
            cfg = load_config(f)
            problems = [] if args.no_trl else check_training(cfg)
            if problems:
                raise ConfigError(problems, f)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        print(f"{f}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
