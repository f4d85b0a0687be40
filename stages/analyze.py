"""Stage analyze@STUDENT: speaking-style shift and length/finishing statistics per recipe (one training seed's
predictions: the first of train.seeds)."""

from pathlib import Path

from mixdistill.analysis import length_stats, rank_shift, sample_responses, top_shifts
from mixdistill.backends.hf import load_model
from mixdistill.study import BASE, ORDER, Run
from mixdistill.io import read_jsonl, write_json

from ._common import config, log, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--student", required=True)
    p.add_argument("--base", required=True, help="base student folder (the model before fine-tuning)")
    p.add_argument("--predictions", required=True, help="folder of STUDENT-base.jsonl and STUDENT-RECIPE-SEED.jsonl")
    p.add_argument("--seed", type=int, required=True, help="the training seed whose predictions are analysed")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    cfg = config(args)
    out, base = {}, None
    for recipe in ORDER:
        run_name = Run(args.student, recipe, None if recipe == BASE else args.seed).name
        preds = read_jsonl(Path(args.predictions) / f"{run_name}.jsonl")
        entry = {"length": length_stats(preds)}
        if recipe != BASE:
            sample = sample_responses(preds, cfg.analysis.style_samples, cfg.seed)
            base = base or load_model(args.base)
            entry["style_shift"] = top_shifts(rank_shift(base, sample, cfg.prompt), k=cfg.analysis.top_k)
            entry["style_samples"] = len(sample)
        out[recipe] = entry
        log.info("analyze %s: %d responses", run_name, len(preds))
    write_json(args.out, out)


if __name__ == "__main__":
    raise SystemExit(run(main))
