"""docs/params.md and configs/params.schema.json, generated from the schema's fields and their docstrings.

    python -m mixdistill.config schema            # (re)write both
    python -m mixdistill.config schema --check    # exit 1 if either differs from the schema (a test runs it)

params.yaml and the profiles name the JSON Schema in their first line (`# yaml-language-server: $schema=...`), so
editors with a YAML language server complete and check them.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator
from pydantic_core import PydanticUndefined

from .fields import SFT_FIELDS, VLLM_ENGINE_ARGS, VLLMOptions
from .schema import Config

DOC, SCHEMA = Path("docs/params.md"), Path("configs/params.schema.json")
_NAMES = {int: "integer", float: "number", bool: "boolean", str: "string", Any: "any", type(None): "null"}
PASSED_THROUGH = {  # models documented by the library that owns their fields
    VLLMOptions: f"any of vLLM {VLLM_ENGINE_ARGS['vllm']}'s `EngineArgs` ({len(VLLM_ENGINE_ARGS['fields'])} fields, "
                 "typed as vLLM types them; `model`, `seed`, `revision` and `tokenizer_revision` are set by the "
                 "pipeline), plus `chat_template`: see src/mixdistill/config/vllm_engine_args.json"}


def _field_type(field):
    """A field's annotation with its metadata put back (pydantic moves a top-level Annotated's into the field)."""
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def _tags(tp) -> tuple[str, dict[str, type]] | None:
    """(discriminator key, {tag: model}) of a tagged union (schema.tagged), else None."""
    if typing.get_origin(tp) is Annotated and isinstance(tp.__metadata__[-1], Discriminator):
        members = typing.get_args(typing.get_args(tp)[0])
        return tp.__metadata__[-1].custom_error_context["key"], {
            m.__metadata__[0].tag: typing.get_args(m)[0] for m in members}
    return None


def type_name(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _tags(tp):
        key, members = _tags(tp)
        return f"mapping, by `{key}`: " + " \\| ".join(f"`{t}`" for t in members)
    if origin is Annotated:
        return type_name(args[0])
    if origin is Union:
        return " or ".join(type_name(a) for a in args)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "mapping"
    return _NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _range(field) -> str:
    bounds = [f"{sym} {getattr(m, a)}" for m in field.metadata for a, sym in
              (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "length ≥")) if hasattr(m, a)]
    return ", ".join(bounds)


def _children(tp, path: str):
    """(path, model or tagged union) of the models below one field's type."""
    if _tags(tp):
        yield path, tp
        return
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated or origin is Union:
        for a in args if origin is Union else args[:1]:
            yield from _children(a, path)
    elif origin is list:
        yield from _children(args[0], f"{path}[]")
    elif origin is dict:
        yield from _children(args[1], f"{path}.<name>")
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield path, tp


def _sections(model: type[BaseModel], path: str, title: str, tag: str = ""):
    """(title, model) of `model` and every model below it; fields of one type (the teacher roles) go as one."""
    yield title, model
    groups: dict[int, list[str]] = {}
    for name, field in model.model_fields.items():
        groups.setdefault(id(field.annotation), []).append(name)
    for names in groups.values():
        name = names[0] if len(names) == 1 else f"<{'|'.join(names)}>"
        for sub, tp in _children(_field_type(model.model_fields[names[0]]), f"{path}.{name}" if path else name):
            tags = _tags(tp)
            for t, member in (tags[1].items() if tags else [(None, tp)]):
                here = f"{tags[0]}: {t}" if tags else tag
                yield from _sections(member, sub, f"`{sub}`" + (f" with `{here}`" if here else ""), here)


def markdown() -> str:
    out = ["# params.yaml reference", "",
           "Generated from `src/mixdistill/config/schema.py` by `python -m mixdistill.config schema` (a test fails "
           "when it is stale); do not edit by hand. Every key of params.yaml and the profiles, with its type, default "
           "and allowed range. `<name>` stands for a name you choose (a student, a benchmark, a run). Editors read "
           f"the same schema from `{SCHEMA}`.", ""]
    where: dict[type, list[str]] = {}  # each model once, under every key path it serves
    for title, model in _sections(Config, "", "top level"):
        where.setdefault(model, []).append(title) if title not in where.get(model, []) else None
    for model, titles in where.items():
        out += [f"## {', '.join(titles)}", ""]
        if model.__doc__ and model.__doc__ != BaseModel.__doc__ and "A base class" not in model.__doc__:
            out += [" ".join(model.__doc__.split()), ""]
        if model in PASSED_THROUGH:
            out += [PASSED_THROUGH[model] + ".", ""]
            continue
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for name, f in model.model_fields.items():
            default = "required" if f.default is PydanticUndefined else f"`{json.dumps(f.default, default=str)}`"
            kind = type_name(_field_type(f)) + (f" ({_range(f)})" if _range(f) else "")
            desc = " ".join((f.description or "").split())
            if name == "sft":
                desc += (f" Any field of TRL {SFT_FIELDS['trl']}'s `SFTConfig` ({len(SFT_FIELDS['fields'])} fields, "
                         "typed from src/mixdistill/config/sft_fields.json).")
            out.append(f"| `{name}` | {kind} | {default} | {desc.strip()} |")
        out.append("")
    return "\n".join(out)


def json_schema() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Config.model_json_schema()}
    return json.dumps(schema, indent=1, sort_keys=False) + "\n"


def write(root: Path, check: bool = False) -> list[str]:
    """Write (or with `check`, compare) both files; the stale ones' paths."""
    stale = []
    for rel, text in ((DOC, markdown()), (SCHEMA, json_schema())):
        path = root / rel
        if not path.is_file() or path.read_text() != text:
            stale.append(str(rel))
            if not check:
                path.write_text(text)
    return stale
