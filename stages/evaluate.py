"""Stage evaluate@STUDENT-RECIPE: greedy benchmark generation, graded with math-verify."""

from mixdistill.evaluate import evaluate, make_backend
from mixdistill.io import read_jsonl, write_json, write_jsonl

from ._common import config, log, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--base", required=True, help="base student folder")
    p.add_argument("--model", required=True, help="trained adapter/model folder, or the base folder itself")
    p.add_argument("--benchmarks", required=True)
    p.add_argument("--predictions", required=True, help="output per-sample JSONL")
    p.add_argument("--metrics", required=True, help="output JSON metrics")
    args = p.parse_args(argv)
    cfg = config(args)
    bench = read_jsonl(args.benchmarks, required=("problem_id", "question", "answer", "benchmark"))
    backend = make_backend(cfg.evaluate, args.base, args.model)
    predictions, metrics = evaluate(backend, bench, cfg.evaluate, cfg.prompt, cfg.seed)
    write_jsonl(args.predictions, predictions)
    write_json(args.metrics, metrics)
    log.info("evaluate %s: average %.1f%% over %d problems", args.model, metrics["accuracy"]["average"], len(bench))


if __name__ == "__main__":
    raise SystemExit(run(main))
