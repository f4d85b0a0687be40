"""Stage report: report.md with tables and plots, from the run's metrics."""

import os
from pathlib import Path

from mixdistill.gap import combine
from mixdistill.io import package_versions, read_json, read_jsonl, write_json, write_text
from mixdistill.report import plot_forest, plot_gap_sizes, plot_lengths, plot_recipes, plot_tables, render_markdown
from mixdistill.study import read_runs, run_files

from ._common import config, parser, run


def _by_name(folder: Path) -> dict:
    return {f.stem: read_json(f) for f in sorted(folder.glob("*.json"))}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--metrics", default="metrics", help="metrics folder: eval/, teachers/, mixes/, train/, students/, gap_stats.json")
    p.add_argument("--predictions", required=True, help="folder of STUDENT-base.jsonl, STUDENT-RECIPE-SEED.jsonl predictions")
    p.add_argument("--out", required=True, help="report markdown")
    p.add_argument("--plots", required=True, help="folder for the plot data (JSON, dvc.yaml's plots) and the report's PNGs")
    args = p.parse_args(argv)
    cfg = config(args)
    m = Path(args.metrics)
    evals = {s: {r: combine(runs) for r, runs in rs.items()} for s, rs in read_runs(m / "eval", cfg.students, cfg.train.seeds).items()}
    train = {s: {r: {"train_loss": round(sum(x["train_loss"] for x in runs) / len(runs), 4)} for r, runs in rs.items()}
             for s, rs in read_runs(m / "train", cfg.students, cfg.train.seeds).items()}
    files = run_files(args.predictions, ".jsonl", cfg.students, cfg.train.seeds)
    lengths = {s: {r: [x["response_tokens"] or 0 for f in files[s][r] for x in read_jsonl(f)] for r in ev}
               for s, ev in evals.items()}  # every seed's responses
    gap, students = read_json(m / "gap_stats.json"), _by_name(m / "students")
    for name, rows in plot_tables(cfg, evals, lengths, gap).items():
        write_json(Path(args.plots) / f"{name}.json", rows)
    plots = [Path(args.plots) / "forest.png", Path(args.plots) / "recipes.png", Path(args.plots) / "lengths.png"]
    plot_forest(gap, str(plots[0]))
    plot_recipes(evals, gap, str(plots[1]))
    plot_lengths(lengths, str(plots[2]))
    sizes = Path(args.plots) / "gap_sizes.png"
    if plot_gap_sizes(gap, students, str(sizes)):
        plots.append(sizes)
    elif sizes.exists():
        sizes.unlink()  # a stale plot from a run with more students
    rel = [os.path.relpath(p, Path(args.out).parent) for p in plots]
    md = render_markdown(cfg, evals, gap, _by_name(m / "teachers"), _by_name(m / "mixes"),
                         train, students, package_versions(), rel, _by_name(m / "analysis"),
                         read_json(m / "audit.json") if (m / "audit.json").exists() else None)
    rehearsal = os.environ.get("MIXDISTILL_REHEARSAL")  # set by python -m mixdistill.rehearse in a twin's project
    if rehearsal:
        md = md.replace("# Mix Distillation study\n", f"# Mix Distillation study: REHEARSAL of {rehearsal}\n\n> **Rehearsal**: "
                        "a tiny twin of this profile (random students of the real architectures and vocabularies, "
                        "stand-in teachers, a few problems), run on CPU to check the graph and its settings. Its "
                        "numbers measure nothing; REHEARSAL.json lists what the twin changed.\n", 1)
    write_text(args.out, md)


if __name__ == "__main__":
    raise SystemExit(run(main))
