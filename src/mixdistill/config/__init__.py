"""Typed, validated view of params.yaml: the only module that reads it.

By role: `schema` (the pydantic models, documented field by field), `messages` (how a problem reads: key path,
then what is wrong and allowed), `fields` (the TRL and vLLM settings passed straight through, typed from committed
snapshots), `checks` (careless inputs types cannot see), `reference` (docs/params.md and the JSON Schema, generated)
and the CLI (`python -m mixdistill.config check|hub|schema`, see __main__.py). Every problem in the file is reported
in one `ConfigError`, each line naming its key path, before any stage does work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from .checks import non_finite, whole_file
from .messages import message
from .schema import (SOURCES, TEACHERS, Config, EvalConfig, FileSource, GymSource, HubSource, PackageSource,
                     ProblemSource, PromptConfig, RegistrySource, StudentConfig, TeacherConfig, TrainConfig,
                     TransformersTeacher, VLLMTeacher, paper_prompt)

__all__ = ["SOURCES", "TEACHERS", "Config", "ConfigError", "EvalConfig", "FileSource", "GymSource", "HubSource",
           "PackageSource", "ProblemSource", "PromptConfig", "RegistrySource", "StudentConfig", "TeacherConfig",
           "TrainConfig", "TransformersTeacher", "VLLMTeacher", "load_config", "paper_prompt", "parse_config"]


def parse_config(data: Any, source: str = "params.yaml", root: str | Path = ".") -> Config:
    """A validated Config, or one ConfigError listing every problem. Relative paths resolve against `root`."""
    errors: list[str] = whole_file(data)
    try:
        cfg = Config.model_validate(data, context={"root": str(root)})
    except ValidationError as exc:
        # whole_file names every NaN and infinity once: not again where pydantic finds one out of its key's range
        errors += [line for line in dict.fromkeys(message(e, data) for e in exc.errors(include_url=False)
                                                  if not non_finite(e.get("input")))
                   if line not in errors]
        cfg = None
    if errors:
        raise ConfigError(errors, source)
    return cfg


def load_config(path: str | Path = "params.yaml", root: str | Path = ".",
                missing: str = "run from the project root, or pass --params") -> Config:
    """params.yaml (or `path`) parsed and validated; `missing` is the hint when the file is not there."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: file not found ({missing})"], str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], str(path)) from exc
    return parse_config(data, str(path), root)
