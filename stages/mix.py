"""Stage mix@RECIPE: a training set drawn from a hard and an easy teacher at the recipe's weight,
or, where mix.released names one, a published mixed set matched to the training problems."""

from mixdistill.backends.dataset import DatasetBackend
from mixdistill.study import RECIPES
from mixdistill.io import read_jsonl, write_json, write_jsonl
from mixdistill.mix import mix, released

from ._common import config, log, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--recipe", required=True, choices=list(RECIPES))
    p.add_argument("--hard", required=True, help="hard teacher's JSONL (long CoT or large teacher)")
    p.add_argument("--easy", required=True, help="easy teacher's JSONL (short CoT or small teacher)")
    p.add_argument("--problems", help="training problems JSONL (to match a released set's questions)")
    p.add_argument("--out", required=True)
    p.add_argument("--manifest", required=True)
    args = p.parse_args(argv)
    cfg = config(args)
    weight = cfg.recipe_weight(args.recipe)
    names = (RECIPES[args.recipe].hard, RECIPES[args.recipe].easy)
    hard, easy = read_jsonl(args.hard), read_jsonl(args.easy)
    spec = cfg.mix.released.get(args.recipe)
    if spec is None:
        records, manifest = mix(hard, easy, weight, cfg.seed, names, cfg.mix.unit)
    else:
        if not args.problems:
            p.error(f"mix.released.{args.recipe} is set: --problems is required to match its questions")
        src = DatasetBackend(spec.dataset, spec.question_column, spec.response_column, spec.split, spec.revision)
        rows = [(r[spec.question_column], r[spec.response_column]) for r in src.rows()]
        records, manifest = released(rows, read_jsonl(args.problems), hard, easy, names)
        manifest = {"released": spec.dataset, **src.hub, **manifest}
    write_jsonl(args.out, records)
    write_json(args.manifest, {"recipe": args.recipe, **manifest})
    log.info("mix %s: %d examples, %d from %s, %d from %s", args.recipe, len(records),
             manifest["from_hard"], names[0], manifest["from_easy"], names[1])


if __name__ == "__main__":
    raise SystemExit(run(main))
