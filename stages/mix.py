"""Stage mix@RECIPE: a training set drawn from a hard and an easy teacher at the recipe's weight."""

from mixdistill.config import PAIRS, RECIPES
from mixdistill.io import read_jsonl, write_json, write_jsonl
from mixdistill.mix import mix

from ._common import config, log, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--recipe", required=True, choices=list(RECIPES))
    p.add_argument("--hard", required=True, help="hard teacher's JSONL (long CoT or large teacher)")
    p.add_argument("--easy", required=True, help="easy teacher's JSONL (short CoT or small teacher)")
    p.add_argument("--out", required=True)
    p.add_argument("--manifest", required=True)
    args = p.parse_args(argv)
    cfg = config(args)
    weight = cfg.recipe_weight(args.recipe)
    names = PAIRS[RECIPES[args.recipe][0]]
    records, manifest = mix(read_jsonl(args.hard), read_jsonl(args.easy), weight, cfg.seed, names)
    write_jsonl(args.out, records)
    write_json(args.manifest, {"recipe": args.recipe, **manifest})
    log.info("mix %s: %d examples, %d from %s, %d from %s", args.recipe, len(records),
             manifest["from_hard"], names[0], manifest["from_easy"], names[1])


if __name__ == "__main__":
    raise SystemExit(run(main))
