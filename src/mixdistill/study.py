"""The study's design as data: the teacher roles, the recipes (each a pair of teachers and the share taken from the
pair's hard side), the statistics that compare them, their labels, and the names of runs. Everything else derives
from here: the params schema, the mix and gap stages, the report and its plots, the comparison view, the run files
the gap and report stages read. dvc.yaml repeats the recipes in `vars.recipes` (DVC needs them there); a test keeps
the two equal. Adding a recipe is an entry in RECIPES (and, if it trains differently, its training code).
Imports nothing from the project: the bottom of the module graph.

>>> [s.name for s in STATISTICS], RECIPES["mix_long"].weight, Run.parse("qwen25_05b-mix_long-42")
(['delta_long', 'delta_large', 'mix_long_gain', 'mix_large_gain'], 'weight', Run(student='qwen25_05b', recipe='mix_long', seed=42))
>>> Run("smol", "base").name, Run.parse("smol-base"), Run.parse("smol-mix_long"), Run.parse("smol-long-x")
('smol-base', Run(student='smol', recipe='base', seed=None), None, None)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROLES = ("long", "short", "large", "small")  # teachers: long / short CoT; large / small teacher


@dataclass(frozen=True)
class Recipe:
    name: str
    hard: str  # the pair's hard side: long CoT, or the large teacher
    easy: str  # its easy side: short CoT, or the small teacher
    weight: float | str  # the share of examples from `hard`: fixed (1.0 all hard, 0.0 all easy) or the mix.* key
    label: str


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("long", "long", "short", 1.0, "Long CoT"),
    Recipe("short", "long", "short", 0.0, "Short CoT"),
    Recipe("large", "large", "small", 1.0, "Large teacher"),
    Recipe("small", "large", "small", 0.0, "Small teacher"),
    Recipe("mix_long", "long", "short", "weight", "Mix-Long"),
    Recipe("mix_large", "large", "small", "large_weight", "Mix-Large"),
)}
MIX_RECIPES = tuple(r.name for r in RECIPES.values() if isinstance(r.weight, str))
BASE = "base"  # the untrained student: evaluated once, no seed
ORDER = [BASE, *RECIPES]  # the study's order in every table and plot
LABEL = {BASE: "Base (untrained)", **{r.name: r.label for r in RECIPES.values()}}


def pure(hard: str, easy: str, side: str) -> str:
    """The single-teacher recipe of a pair that takes everything from `side` (hard or easy)."""
    want = 1.0 if side == "hard" else 0.0
    return next(r.name for r in RECIPES.values() if (r.hard, r.easy, r.weight) == (hard, easy, want))


@dataclass(frozen=True)
class Statistic:
    name: str
    label: str
    a: str  # a recipe
    b: str | None  # the recipe it is compared with; None: the better of `a`'s two single-teacher sources
    caption: str


STATISTICS = tuple(
    [Statistic(f"delta_{hard}", f"Δ_{hard.capitalize()}", pure(hard, easy, "hard"), pure(hard, easy, "easy"),
               f"Δ_{hard.capitalize()} ({RECIPES[pure(hard, easy, 'hard')].label} − {RECIPES[pure(hard, easy, 'easy')].label})")
     for hard, easy in dict.fromkeys((r.hard, r.easy) for r in RECIPES.values())]
    + [Statistic(f"{m}_gain", f"{RECIPES[m].label} gain", m, None, f"{RECIPES[m].label} gain") for m in MIX_RECIPES])


@dataclass(frozen=True)
class Run:
    """One evaluated run: STUDENT-RECIPE-SEED, or STUDENT-base (student and recipe names hold no '-')."""
    student: str
    recipe: str
    seed: int | None = None

    @property
    def name(self) -> str:
        return f"{self.student}-{BASE}" if self.recipe == BASE else f"{self.student}-{self.recipe}-{self.seed}"

    @classmethod
    def parse(cls, name: str) -> "Run | None":
        student, _, rest = name.partition("-")
        recipe, _, seed = rest.partition("-")
        if recipe == BASE and not seed:
            return cls(student, BASE)
        if recipe in RECIPES and seed.isdigit():
            return cls(student, recipe, int(seed))
        return None


def run_files(folder: str | Path, suffix: str, students, seeds: list[int]) -> dict:
    """student -> recipe -> [file per training seed, in `seeds` order], from the STUDENT-base and STUDENT-RECIPE-SEED
    files in `folder`. Files of other students or seeds, or of an earlier layout without seeds (DVC leaves a removed
    stage's outputs in place), are not read."""
    order = {seed: i for i, seed in enumerate(seeds)}
    found: dict = {}
    for f in Path(folder).glob(f"*-*{suffix}"):
        run = Run.parse(f.name[: -len(suffix)])
        rank = None if run is None else -1 if run.recipe == BASE else order.get(run.seed)
        if rank is not None and run.student in students:
            found.setdefault(run.student, {}).setdefault(run.recipe, []).append((rank, f))
    return {s: {r: [f for _, f in sorted(fs)] for r, fs in sorted(rs.items())} for s, rs in sorted(found.items())}


def read_runs(folder: str | Path, students, seeds: list[int]) -> dict:
    """student -> recipe -> [the JSON of each training seed's run file] (run_files' `.json` files: eval or train
    metrics)."""
    return {s: {r: [json.loads(f.read_text()) for f in fs] for r, fs in rs.items()}
            for s, rs in run_files(folder, ".json", students, seeds).items()}
