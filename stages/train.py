"""Stage train@STUDENT-RECIPE-SEED: fine-tune a student on one training set with TRL, with one training seed."""

import logging
import os
import sys

from mixdistill.io import read_jsonl
from mixdistill.train import train

from ._common import config, parser, run, write_summary


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--base", required=True, help="base student folder")
    p.add_argument("--data", required=True, help="training set JSONL")
    p.add_argument("--out", required=True, help="output adapter/model folder")
    p.add_argument("--metrics", required=True, help="output JSON training summary")
    p.add_argument("--log", help="run log JSON: seconds and tokens/s (not tracked by DVC)")
    p.add_argument("--live", help="DVCLive folder for loss curves")
    p.add_argument("--student", help="student name: selects train.overrides for this run")
    p.add_argument("--recipe", help="recipe name: selects train.overrides for this run")
    p.add_argument("--seed", type=int, required=True, help="training seed (one of train.seeds)")
    p.add_argument("--work", default=".cache/train", help="scratch folder outside DVC outputs")
    args = p.parse_args(argv)
    cfg = config(args)
    records = read_jsonl(args.data, required=("question", "response"))
    summary = train(args.base, records, cfg.train_for(args.student, args.recipe), cfg.prompt, args.seed, args.out, args.live, args.work)
    if summary is not None:  # rank 0 only, under accelerate launch
        write_summary(args.metrics, summary, args.log)


def _end_rank(code: int) -> None:
    """One of several launched ranks leaves without the interpreter's teardown. Its outputs are written and its
    process group is gone by now, but objects of DeepSpeed and the trainer still hold gloo's pending work, and freeing
    them while the interpreter shuts down aborts the process now and then ('terminate called without an active
    exception', SIGABRT; pytorch/pytorch#179291 describes it), and the launcher then fails the stage. Seen twice in CI's
    ZeRO-3 twins, after every rank had finished."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    code = run(main)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _end_rank(code)
    raise SystemExit(code)
