"""Careless inputs the schema's types cannot see: names that would collide downstream, keys DVC cannot hash,
and NaN or infinity anywhere in the file."""

from __future__ import annotations

import math
import re

from .messages import fail

# what names of students and benchmarks may hold: they become DVC foreach keys and params paths (no '.'), stage
# and file names joined with '-' (STUDENT-RECIPE-SEED), and metric keys beside the ones the pipeline writes
NAME_RULE = re.compile(r"^[A-Za-z0-9_]+$")
RESERVED_NAMES = ("average",)  # metrics/eval accuracy: every benchmark's, then their plain mean under this key
HASH_BLIND = ("size", "nfiles")  # DVC leaves these keys out of the run-cache hash (treeverse/dvc#10296)


def check_names(named: dict, what: str) -> dict:
    """Names of students or benchmarks: letters, digits and '_', and not a metric the pipeline writes; students'
    names, which name files, differ in more than case."""
    bad = [((k,), f"{what} names may hold only letters, digits and '_' (DVC reads '.' as a params path and the "
                  f"pipeline joins names with '-')") for k in named if not NAME_RULE.match(str(k))]
    bad += [((k,), f"{k!r} is the name of a metric the pipeline writes beside every {what}'s; rename the {what}")
            for k in named if str(k).lower() in RESERVED_NAMES]
    if what == "student":  # models/STUDENT/, metrics/eval/STUDENT-RECIPE-SEED.json, ...
        first: dict[str, str] = {}
        bad += [((k,), f"differs from student {first[str(k).lower()]!r} only in case: on a case-insensitive file "
                       "system (macOS, Windows) both students' models and metrics are the same files, and one "
                       "overwrites the other's; rename one")
                for k in named if first.setdefault(str(k).lower(), k) != k]
    if bad:
        fail(bad)
    return named


def nodes(data, path: str = ""):
    """(key path, mapping key or None, value) of every value below `data`, depth first, parents before children."""
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, k, v
            yield from nodes(v, p)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield f"{path}[{i}]", None, v
            yield from nodes(v, f"{path}[{i}]")


def whole_file(data) -> list[str]:
    """Problems anywhere in the file: keys DVC's run-cache cannot see, and every NaN or infinity (YAML .nan, .inf:
    no setting of the pipeline or of the libraries takes one)."""
    blind = [f"{p}: keys named {' or '.join(HASH_BLIND)} are invisible to DVC's run-cache (treeverse/dvc#10296), so "
             "a change would silently restore stale outputs; rename it (problem sources use count)"
             for p, k, _ in nodes(data) if k in HASH_BLIND]
    return blind + [f"{p or '<root>'}: {v} is not a finite number" for p, _, v in [("", None, data), *nodes(data)]
                    if non_finite(v)]


def non_finite(value) -> bool:
    """NaN or an infinity (YAML .nan, .inf, -.inf)."""
    return isinstance(value, float) and not math.isfinite(value)


def launch_config_files(launch: str) -> list[str]:
    """The accelerate config files a train.launch names (--config_file FILE or --config_file=FILE)."""
    words = launch.split()
    return ([w.partition("=")[2] for w in words if w.startswith("--config_file=")]
            + [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--config_file"])
