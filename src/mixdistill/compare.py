"""The readable view of `dvc exp show`: one line per experiment, the params that differ and the study's outcomes with
their paired 95% intervals (no dependency hashes, no unchanged params).

    python -m mixdistill.compare            # workspace, the baseline commit and its experiments
    python -m mixdistill.compare --all      # every experiment of every commit (dvc exp show -A)

A difference whose interval excludes 0 is marked `*`.

>>> line = render([{"name": "main", "params": {"mix.weight": 0.2}, "outcomes": {"s": {"delta_long": -7.81,
...     "delta_long_ci95_low": -17.19, "delta_long_ci95_high": -1.56, "p_mix_long": 21.88}}}])
>>> line[0]
'experiment  mix.weight  student  P_MixLong  Δ_Long                Δ_Large  Mix-Long gain  Mix-Large gain'
>>> line[1]
'main        0.2         s        21.9       -7.8 [-17.2, -1.6] *  –        –              –'
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .study import STATISTICS
OUTCOMES_FILE = "metrics/gap.json"


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _name(entry: dict) -> str:
    rev = entry.get("rev", "")
    return entry.get("name") or (rev[:7] if len(rev) == 40 else rev)


def _row(name: str, data: dict) -> dict:
    params = data.get("params", {}).get("params.yaml", {}).get("data", {}) or {}
    outcomes = data.get("metrics", {}).get(OUTCOMES_FILE, {}).get("data", {}) or {}
    return {"name": name, "params": _flat(params), "outcomes": outcomes}


def rows(show: list) -> list[dict]:
    """One row per entry of `dvc exp show --json`: the workspace, each baseline commit, each experiment under it."""
    out = []
    for e in show:
        if e.get("data"):
            out.append(_row(_name(e), e["data"]))
        for x in e.get("experiments") or []:
            for r in x.get("revs") or []:
                if r.get("data"):
                    out.append(_row(_name(r), r["data"]))
    return out


def _cell(o: dict, stat: str) -> str:
    if o.get(stat) is None:
        return "–"
    lo, hi = o.get(f"{stat}_ci95_low"), o.get(f"{stat}_ci95_high")
    if lo is None or hi is None:
        return f"{o[stat]:.1f}"
    star = " *" if lo > 0 or hi < 0 else ""
    return f"{o[stat]:.1f} [{lo:.1f}, {hi:.1f}]{star}"


def render(table: list[dict]) -> list[str]:
    """Aligned text lines: a header, then one line per experiment and student."""
    keys = sorted({k for r in table for k in r["params"]})
    changed = [k for k in keys if len({json.dumps(r["params"].get(k), sort_keys=True) for r in table}) > 1]
    if len(table) == 1:
        changed = [k for k in keys if k.startswith("mix.")][:2]  # nothing to compare: show the weights
    head = ["experiment", *changed, "student", "P_MixLong", *(st.label for st in STATISTICS)]
    body = []
    for r in table:
        for student, o in sorted(r["outcomes"].items()) or [("–", {})]:
            p = o.get("p_mix_long")
            body.append([r["name"], *(str(r["params"].get(k, "–")) for k in changed), student,
                         "–" if p is None else f"{p:.1f}", *(_cell(o, st.name) for st in STATISTICS)])
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m mixdistill.compare", description=__doc__.splitlines()[0])
    p.add_argument("--all", action="store_true", help="every commit's experiments (dvc exp show -A)")
    args = p.parse_args(argv)
    dvc = Path(sys.executable).with_name("dvc")  # this environment's dvc, activated or not
    cmd = [str(dvc) if dvc.exists() else "dvc", "exp", "show", "--json", *(["-A"] if args.all else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        print(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}", file=sys.stderr)
        return proc.returncode
    table = rows(json.loads(proc.stdout))
    if not table:
        print("no experiments: run `dvc repro` or `dvc exp run` first", file=sys.stderr)
        return 1
    print("\n".join(render(table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
