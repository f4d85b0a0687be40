"""Stage gap: the learnability-gap statistics per student, from the eval metrics and, for the paired tests and the
grader audit, the predictions every recipe made on the same benchmark problems."""

from pathlib import Path

from mixdistill.audit import audit_student, gap_columns
from mixdistill.gap import gap_table
from mixdistill.io import read_json, read_jsonl, write_json

from ._common import config, parser, run


def load_evals(folder: str | Path) -> dict:
    """student -> recipe -> metrics, from files named STUDENT-RECIPE.json (student names hold no '-')."""
    out: dict = {}
    for f in sorted(Path(folder).glob("*-*.json")):
        student, recipe = f.stem.split("-", 1)
        out.setdefault(student, {})[recipe] = read_json(f)
    return out


def load_predictions(folder: str | Path, evals: dict) -> dict:
    """student -> recipe -> graded predictions (STUDENT-RECIPE.jsonl), for every evaluated recipe."""
    return {s: {r: read_jsonl(Path(folder) / f"{s}-{r}.jsonl", required=("benchmark", "problem_id", "correct"))
                for r in ev} for s, ev in evals.items()}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--evals", required=True, help="folder of STUDENT-RECIPE.json eval metrics")
    p.add_argument("--predictions", required=True, help="folder of STUDENT-RECIPE.jsonl graded predictions")
    p.add_argument("--benchmarks", required=True, help="the benchmark problems (for their own answer checkers)")
    p.add_argument("--out", required=True, help="gap statistics JSON (the study's DVC metrics)")
    p.add_argument("--audit", required=True, help="grader audit JSON: accuracy under each grader, disagreements")
    args = p.parse_args(argv)
    seed = config(args).seed
    evals = load_evals(args.evals)
    predictions = load_predictions(args.predictions, evals)
    problems = {p["problem_id"]: p for p in read_jsonl(args.benchmarks, required=("problem_id", "question", "answer"))}
    audit = {s: audit_student(predictions[s], problems) for s in sorted(evals)}
    gap = gap_table(evals, predictions, seed)
    for s in gap:
        gap[s].update(gap_columns(audit[s]))
    write_json(args.audit, audit)
    write_json(args.out, gap)


if __name__ == "__main__":
    raise SystemExit(run(main))
