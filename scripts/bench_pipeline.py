"""Time `dvc repro` per stage: python scripts/bench_pipeline.py [--force] [-- extra dvc args].

Streams DVC's output, stamps each "Running stage" line, and prints a table of
seconds per stage and the total. Use --force to rerun everything (the run-cache
would otherwise restore unchanged stages in seconds).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="rerun every stage (dvc repro --force)")
    p.add_argument("extra", nargs="*", help="more arguments for dvc repro")
    args = p.parse_args(argv)
    cmd = ["dvc", "repro", *(["--force"] if args.force else []), *args.extra]
    t0 = time.time()
    stages: list[tuple[str, float]] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        m = re.match(r"Running stage '([^']+)'", line)
        if m:
            stages.append((m.group(1), time.time()))
    rc = proc.wait()
    end = time.time()
    print("\n| stage | seconds |\n|---|---|")
    for i, (name, start) in enumerate(stages):
        stop = stages[i + 1][1] if i + 1 < len(stages) else end
        print(f"| {name} | {stop - start:.1f} |")
    print(f"| **total ({len(stages)} stages run)** | **{end - t0:.1f}** |")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
