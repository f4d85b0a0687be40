"""Stage problems: training prompts and benchmark sets."""

from mixdistill.io import write_jsonl
from mixdistill.problems import build_benchmarks, build_train

from ._common import config, log, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--train", required=True, help="output JSONL of training problems")
    p.add_argument("--benchmarks", required=True, help="output JSONL of benchmark problems")
    args = p.parse_args(argv)
    cfg = config(args)
    train = build_train(cfg.problems.train, cfg.seed)
    bench = build_benchmarks(cfg.problems.benchmarks, cfg.seed, train)
    write_jsonl(args.train, train)
    write_jsonl(args.benchmarks, bench)
    log.info("problems: %d training, %d benchmark (%s)", len(train), len(bench), ", ".join(cfg.problems.benchmarks))


if __name__ == "__main__":
    raise SystemExit(run(main))
