"""Collect a mix-weight sweep from DVC experiments: python scripts/sweep.py [--key mix.weight] [--out plots/sweep]

Run the sweep first (the paper's figure 6):
    dvc exp run --queue -S 'mix.weight=0,0.1,0.2,0.3,0.5,0.8,1.0' && dvc queue start
then this reads `dvc exp show --json` and writes OUT.tsv (weight, student, average accuracy of the
mix recipe) for `dvc plots show OUT.tsv -x weight -y accuracy` and OUT.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

RECIPE = {"mix.weight": "p_mix_long", "mix.large_weight": "p_mix_large"}


def _walk(entries):
    """Yield the data dict of every experiment and baseline in `dvc exp show --json` output."""
    for entry in entries:
        if entry.get("data"):
            yield entry.get("name") or entry.get("rev"), entry["data"]
        for exp in entry.get("experiments") or []:
            for rev in exp.get("revs") or []:
                if rev.get("data"):
                    yield rev.get("name") or rev.get("rev"), rev["data"]


def collect(show: list, key: str) -> list[tuple[float, str, float, str]]:
    """(weight, student, accuracy, experiment) rows, one per student per distinct weight (the last seen wins)."""
    rows: dict[tuple[float, str], tuple[float, str, float, str]] = {}
    for name, data in _walk(show):
        params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
        node = params
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        gap = ((data.get("metrics") or {}).get("metrics/gap.json") or {}).get("data") or {}
        if node is None or not gap:
            continue
        for student, stats in gap.items():
            if RECIPE[key] in stats:
                rows[(float(node), student)] = (float(node), student, float(stats[RECIPE[key]]), str(name))
    return sorted(rows.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--key", default="mix.weight", choices=list(RECIPE))
    p.add_argument("--out", default="plots/sweep", help="output path without extension")
    args = p.parse_args(argv)
    show = json.loads(subprocess.run(["dvc", "exp", "show", "--json", "--all-commits"], check=True,
                                     capture_output=True, text=True).stdout)
    rows = collect(show, args.key)
    if not rows:
        raise SystemExit(f"no experiment has both {args.key} and metrics/gap.json; run the sweep first")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".tsv").write_text("weight\tstudent\taccuracy\texperiment\n"
                                       + "".join(f"{w}\t{s}\t{a}\t{n}\n" for w, s, a, n in rows))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for student in sorted({r[1] for r in rows}):
        pts = [(w, a) for w, s, a, _ in rows if s == student]
        ax.plot([w for w, _ in pts], [a for _, a in pts], marker="o", label=student)
    ax.set_xlabel(f"{args.key} (fraction from the {'long-CoT' if args.key == 'mix.weight' else 'large'} teacher)")
    ax.set_ylabel("average accuracy (%)")
    ax.set_title("Mix weight sweep")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=100)
    print(f"{len(rows)} points -> {out.with_suffix('.tsv')}, {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
