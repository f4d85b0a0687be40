"""Stage teach@ROLE: one teacher's graded, filtered responses and their summary."""

from mixdistill.study import ROLES
from mixdistill.io import read_jsonl, write_jsonl
from mixdistill.teachers import teach

from ._common import config, parser, run, write_summary


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--problems", required=True, help="training problems JSONL")
    p.add_argument("--out", required=True, help="output JSONL of kept responses")
    p.add_argument("--metrics", required=True, help="output JSON summary")
    p.add_argument("--log", help="run log JSON: generated vs cached requests (not tracked by DVC)")
    p.add_argument("--cache", default=".cache/generations",
                   help="generation cache folder, outside DVC outputs (default: .cache/generations; '' disables)")
    args = p.parse_args(argv)
    cfg = config(args)
    problems = read_jsonl(args.problems, required=("problem_id", "question", "answer"))
    records, summary = teach(args.role, cfg.teacher(args.role), problems, cfg.prompt, cfg.seed,
                             cache_dir=args.cache or None)
    write_jsonl(args.out, records)
    write_summary(args.metrics, summary, args.log)


if __name__ == "__main__":
    raise SystemExit(run(main))
