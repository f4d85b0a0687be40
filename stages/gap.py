"""Stage gap: the learnability-gap statistics per student, from the eval metrics."""

from pathlib import Path

from mixdistill.gap import gap_table
from mixdistill.io import read_json, write_json

from ._common import parser, run


def load_evals(folder: str | Path) -> dict:
    """student -> recipe -> metrics, from files named STUDENT-RECIPE.json (student names hold no '-')."""
    out: dict = {}
    for f in sorted(Path(folder).glob("*-*.json")):
        student, recipe = f.stem.split("-", 1)
        out.setdefault(student, {})[recipe] = read_json(f)
    return out


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--evals", required=True, help="folder of STUDENT-RECIPE.json eval metrics")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    write_json(args.out, gap_table(load_evals(args.evals)))


if __name__ == "__main__":
    raise SystemExit(run(main))
