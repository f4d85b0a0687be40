"""`python -m mixdistill.config check FILE...`: validate params files and profiles without running anything.

Parsing checks every key (what each stage also does first); this command also builds every run's TRL SFTConfig,
which catches values TRL rejects (it imports TRL, so the stages leave it to the train stage).
Prints every problem and exits 1 if any file has one.
"""

from __future__ import annotations

import sys

from . import RECIPES, Config, ConfigError, load_config


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


def main(argv: list[str] | None = None) -> int:
    """`python -m mixdistill.config check FILE...`: validate params files without running anything."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.config", description=main.__doc__)
    p.add_argument("command", choices=["check"])
    p.add_argument("files", nargs="+", help="params files or profiles")
    p.add_argument("--no-trl", action="store_true", help="skip building TRL's SFTConfig for every run")
    args = p.parse_args(argv)
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
