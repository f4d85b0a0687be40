"""How a params problem reads: the dotted key path, then pydantic's words or the field's own.

The knowledge of what is special about a key lives on its model: `Strict` (every params model's base) turns an
unknown key into "unknown key; allowed: ...; did you mean ...?" with the model's own wording (`unknown_key`) and
the keys set elsewhere (`set_elsewhere`); validators raise `fail` with a location below the value they check.
This module only joins a pydantic error's location into the key path the user wrote (union tags left out).
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

TAG_KEYS = ("backend", "source")  # the keys the tagged unions read (see schema.tagged)
DEFAULT_TAG = "reasoning_gym"  # a problem source without `source`


def fail(problems: list[tuple[tuple, str]]) -> NoReturn:
    """Raise every (location below the validated value, message) at once, each reported at its own key path."""
    raise ValidationError.from_exception_data("params", [
        InitErrorDetails(type=PydanticCustomError("params", msg), loc=loc, input=None) for loc, msg in problems])


def near(key: str, names: list[str]) -> list[str]:
    """Close spellings of `key` among `names`, else names it abbreviates by initials ("tp": tensor_parallel_size)."""
    return difflib.get_close_matches(key, names, n=3, cutoff=0.7) or [
        n for n in names if len(key) > 1 and "".join(w[:1] for w in n.split("_")).startswith(key)][:3]


class Strict(BaseModel):
    """Strict types, frozen, and every unknown key reported with the model's allowed keys."""
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True)
    unknown_key: ClassVar[str] = "unknown key; allowed: {allowed}"
    set_elsewhere: ClassVar[dict[str, str]] = {}  # key -> where it is set instead

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_keys(cls, data: Any, handler):
        unknown = [k for k in data if k not in cls.model_fields] if isinstance(data, dict) else []
        if not unknown:
            return handler(data)
        found = []
        try:
            handler({k: v for k, v in data.items() if k not in unknown})  # the known keys' problems too
        except ValidationError as exc:
            found = [InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"],
                                      ctx=e.get("ctx")) for e in exc.errors(include_url=False)]
        for key in unknown:
            close = near(str(key), list(cls.model_fields))
            msg = cls.set_elsewhere.get(key) or (cls.unknown_key.replace("{allowed}", ", ".join(cls.model_fields))
                                                + (f"; did you mean {', '.join(close)}?" if close else ""))
            found.append(InitErrorDetails(type=PydanticCustomError("params", msg), loc=(key,), input=data[key]))
        raise ValidationError.from_exception_data(cls.__name__, found)


def key_path(loc: tuple, data: Any) -> str:
    """The dotted key path of a pydantic error location, following the user's data: a union's tag is left out."""
    path, node, tagged = "", data, False
    for part in loc:
        if part == "[key]":
            continue
        if (isinstance(node, dict) and not tagged and isinstance(part, str)
                and part == next((node[k] for k in TAG_KEYS if k in node), DEFAULT_TAG)):
            tagged = True  # the union member chosen for this mapping
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
        tagged = False
    return path or "<root>"


def _has(node, part) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and 0 <= part < len(node)


def message(err: dict, data: Any) -> str:
    """One line: key path, pydantic's (or the field's) words, and what was given where pydantic leaves it out."""
    path, kind, given = key_path(err["loc"], data), err["type"], err.get("input")
    if kind == "union_tag":  # schema.tagged: the union's own message, at the tag's key
        key = err["ctx"]["key"]
        got = given.get(key) if isinstance(given, dict) else None
        return f"{path}.{key}: {'missing' if got is None else f'{got!r} is not allowed'}; {err['msg']}"
    if kind == "params":
        return f"{path}: {err['msg']}"
    if kind.endswith("_type") or kind in ("literal_error", "enum") or kind.startswith(("greater_", "less_")):
        shown = type(given).__name__ if isinstance(given, (dict, list)) else repr(given)
        return f"{path}: {err['msg']}, got {shown}"
    return f"{path}: {err['msg']}"
