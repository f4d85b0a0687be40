"""Stage gap: the learnability-gap statistics per student, from the eval metrics and, for the paired tests and the
grader audit, the predictions every recipe made on the same benchmark problems."""

from pathlib import Path

from mixdistill.audit import audit_student, gap_columns
from mixdistill.config import Config
from mixdistill.gap import gap_table, outcomes
from mixdistill.errors import DataError
from mixdistill.io import read_jsonl, write_json
from mixdistill.study import read_runs, run_files

from ._common import config, parser, run


def load_predictions(folder: str | Path, evals: dict, cfg: Config) -> dict:
    """student -> recipe -> [graded predictions per training seed], for every evaluated recipe."""
    files = run_files(folder, ".jsonl", cfg.students, cfg.train.seeds)
    out = {}
    for s, ev in evals.items():
        out[s] = {}
        for r, runs in ev.items():
            fs = files.get(s, {}).get(r, [])
            if len(fs) != len(runs):
                raise DataError(f"{folder}: {len(fs)} prediction files for {s}-{r}, but {len(runs)} eval metrics")
            out[s][r] = [read_jsonl(f, required=("benchmark", "problem_id", "correct")) for f in fs]
    return out


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--evals", required=True, help="folder of STUDENT-base.json, STUDENT-RECIPE-SEED.json eval metrics")
    p.add_argument("--predictions", required=True, help="folder of the graded predictions, named likewise (.jsonl)")
    p.add_argument("--benchmarks", required=True, help="the benchmark problems (for their own answer checkers)")
    p.add_argument("--out", required=True, help="the outcomes JSON (the study's DVC metrics): averages, differences, CIs")
    p.add_argument("--stats", required=True, help="every gap statistic: noise bands, p-values, power, grader columns")
    p.add_argument("--audit", required=True, help="grader audit JSON: accuracy under each grader, disagreements")
    args = p.parse_args(argv)
    cfg = config(args)
    evals = read_runs(args.evals, cfg.students, cfg.train.seeds)
    predictions = load_predictions(args.predictions, evals, cfg)
    problems = {p["problem_id"]: p for p in read_jsonl(args.benchmarks, required=("problem_id", "question", "answer"))}
    pooled = {s: {r: [p for run in runs for p in run] for r, runs in ps.items()} for s, ps in predictions.items()}
    audit = {s: audit_student(pooled[s], problems) for s in sorted(evals)}  # every seed's predictions
    gap = gap_table(evals, predictions, cfg.seed)
    for s in gap:
        gap[s].update(gap_columns(audit[s]))
    write_json(args.audit, audit)
    write_json(args.stats, gap)
    write_json(args.out, outcomes(gap))


if __name__ == "__main__":
    raise SystemExit(run(main))
