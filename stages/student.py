"""Stage student@NAME: import a base student as safetensors + tokenizer."""

from mixdistill.errors import ConfigError
from mixdistill.io import write_json
from mixdistill.models import import_student

from ._common import config, parser, run


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--name", required=True, help="student key in params.yaml")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument("--info", help="optional JSON with the student's size and source")
    args = p.parse_args(argv)
    cfg = config(args)
    if args.name not in cfg.students:
        raise ConfigError([f"students.{args.name}: not defined; defined: {', '.join(cfg.students)}"], args.params)
    info = import_student(cfg.students[args.name], args.out, cfg.seed)
    info["family"] = cfg.students[args.name].family
    if args.info:
        write_json(args.info, info)


if __name__ == "__main__":
    raise SystemExit(run(main))
