"""Time `dvc repro` per stage, or check that from-scratch runs reproduce the committed lock byte for byte.

    python scripts/bench_pipeline.py [--force] [-- extra dvc args]   # in this workspace
    python scripts/bench_pipeline.py --from-scratch 2                # N fresh clones of HEAD, compared

The first form streams DVC's output, stamps each "Running stage" line, and prints seconds per stage and the
total (--force reruns everything; the run-cache would otherwise restore unchanged stages in seconds).

The second clones HEAD into N temporary folders (no DVC cache, no generation cache: a new user's clone), runs
`dvc repro` in each with that clone's own code, and prints how many output hashes in each clone's dvc.lock
differ from the other clones' and from the committed dvc.lock, and whether `dvc metrics diff` against HEAD is
empty. Identical inputs should give 0 differing entries and an empty diff.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def timed_repro(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> tuple[int, list, float]:
    """Run `cmd` (a dvc repro), echoing its output; return (exit code, [(stage, seconds)], total seconds)."""
    t0 = time.time()
    starts: list[tuple[str, float]] = []
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        m = re.match(r"Running stage '([^']+)'", line)
        if m:
            starts.append((m.group(1), time.time()))
    rc = proc.wait()
    end = time.time()
    stages = [(name, (starts[i + 1][1] if i + 1 < len(starts) else end) - start) for i, (name, start) in enumerate(starts)]
    return rc, stages, end - t0


def print_table(stages: list, total: float) -> None:
    print("\n| stage | seconds |\n|---|---|")
    for name, seconds in stages:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total ({len(stages)} stages run)** | **{total:.1f}** |")


def lock_outputs(text: str) -> dict[tuple[str, str], str]:
    """(stage, output path) -> its hash, for every output in a dvc.lock."""
    out = {}
    for stage, body in (yaml.safe_load(text) or {}).get("stages", {}).items():
        for o in body.get("outs", []):
            out[(stage, o["path"])] = o.get("md5") or o.get("hash", "")
    return out


def differing(a: dict, b: dict) -> list[tuple[str, str]]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def from_scratch(n: int, keep: bool) -> int:
    committed = lock_outputs(subprocess.run(["git", "-C", str(ROOT), "show", "HEAD:dvc.lock"], check=True,
                                            capture_output=True, text=True).stdout)
    top = Path(tempfile.mkdtemp(prefix="mixdistill-scratch-"))
    locks, rows, rc = [], [], 0
    try:
        for i in range(1, n + 1):
            clone = top / f"clone{i}"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            env = {**os.environ, "PYTHONPATH": str(clone / "src"), "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1"}
            print(f"\n=== clone {i}: dvc repro --force in {clone}", flush=True)
            code, stages, total = timed_repro(["dvc", "repro", "--force"], cwd=clone, env=env)
            print_table(stages, total)
            if code:
                print(f"clone {i}: dvc repro failed (exit {code})")
                return code
            locks.append(lock_outputs((clone / "dvc.lock").read_text()))
            diff = subprocess.run(["dvc", "metrics", "diff", "--json", "HEAD"], cwd=clone, env=env,
                                  capture_output=True, text=True, check=True)
            rows.append((i, total, json.loads(diff.stdout or "{}")))  # --md prints a header even when empty
        print("\n| compared | outputs | differing hashes |\n|---|---|---|")
        for i, lock in enumerate(locks, 1):
            d = differing(lock, committed)
            rc |= bool(d)
            print(f"| clone {i} vs committed dvc.lock | {len(lock)} | {len(d)} |")
            for k in d:
                print(f"|   {k[0]}: {k[1]} | | {lock.get(k)} vs {committed.get(k)} |")
        for i in range(1, len(locks)):
            d = differing(locks[0], locks[i])
            rc |= bool(d)
            print(f"| clone 1 vs clone {i + 1} | {len(locks[0])} | {len(d)} |")
        for i, total, diff in rows:
            print(f"\nclone {i}: {total:.0f} s from scratch; `dvc metrics diff HEAD`: "
                  + ("empty" if not diff else json.dumps(diff, indent=1)))
            rc |= bool(diff)
    finally:
        if keep:
            print(f"clones kept in {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    return int(rc)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="rerun every stage (dvc repro --force)")
    p.add_argument("--from-scratch", type=int, metavar="N", help="run N fresh clones of HEAD and compare their locks")
    p.add_argument("--keep", action="store_true", help="with --from-scratch: keep the clones")
    p.add_argument("extra", nargs="*", help="more arguments for dvc repro")
    args = p.parse_args(argv)
    if args.from_scratch:
        return from_scratch(args.from_scratch, args.keep)
    rc, stages, total = timed_repro(["dvc", "repro", *(["--force"] if args.force else []), *args.extra])
    print_table(stages, total)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
