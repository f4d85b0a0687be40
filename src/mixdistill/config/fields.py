"""The settings params pass straight through to a library, typed from a committed snapshot of its fields.

One mechanism for both: `scripts/field_snapshots.py` writes `vllm_engine_args.json` (vLLM's EngineArgs:
teachers.ROLE.options and evaluate.options of backend vllm) and `sft_fields.json` (TRL's SFTConfig: train.sft and
the sft of train.overrides), each field's name and type; a test checks each against the installed library. Params
are thus checked without importing TRL (seconds) or vLLM (an extra).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, create_model

from .checks import non_finite
from .messages import Strict, fail, near

HERE = Path(__file__).parent
VLLM_ENGINE_ARGS = json.loads((HERE / "vllm_engine_args.json").read_text())
SFT_FIELDS = json.loads((HERE / "sft_fields.json").read_text())


def field_type(spec):
    """The annotation for one type description of a field snapshot (see scripts/field_snapshots.py)."""
    simple = {"int": int, "float": float, "bool": bool, "str": str, "null": type(None), "dict": dict[str, Any],
              "any": Any}
    if isinstance(spec, str):
        return simple[spec]
    if "literal" in spec:
        return Literal[tuple(spec["literal"])]
    if "list" in spec:
        return list[field_type(spec["list"])]
    return Union[tuple(field_type(s) for s in spec["union"])]


# ---------------------------------------------------------------- vLLM's EngineArgs

# the pipeline sets model and seed itself, and revision / tokenizer_revision from the teacher's revision
VLLM_FROM_TEACHER = ("revision", "tokenizer_revision")
# ranges vLLM checks only when the engine starts (after a whole training run, for evaluation)
_VLLM_RANGES = {"tensor_parallel_size": Field(None, ge=1), "pipeline_parallel_size": Field(None, ge=1),
                "data_parallel_size": Field(None, ge=1), "max_model_len": Field(None, ge=16),
                "max_num_seqs": Field(None, ge=1), "max_loras": Field(None, ge=1),
                "gpu_memory_utilization": Field(None, gt=0, le=1)}


class _EngineArgs(Strict):
    unknown_key = f"not an engine argument of vLLM {VLLM_ENGINE_ARGS['vllm']} (vllm.EngineArgs)"
    set_elsewhere = {k: "set from the model's `revision` one level up (teachers.ROLE.revision); vLLM gets its commit "
                        "as revision and tokenizer_revision" for k in VLLM_FROM_TEACHER}


VLLMOptions = create_model(
    "VLLMOptions", __base__=_EngineArgs, __doc__="vllm.LLM engine arguments (any of vLLM's EngineArgs, typed as "
    "vLLM types them); unset ones keep vLLM's defaults.",
    chat_template=(Optional[str], Field(None, description="a Jinja chat template for LLM.chat (not an engine "
                                                            "argument); null: the tokenizer's")),
    **{name: (Optional[field_type(spec)], _VLLM_RANGES.get(name, None))
       for name, spec in VLLM_ENGINE_ARGS["fields"].items() if name not in VLLM_FROM_TEACHER})


# ---------------------------------------------------------------- TRL's SFTConfig

# SFTConfig fields the pipeline owns: where checkpoints go, seeds, what is saved and logged
PIPELINE_OWNED = ("output_dir", "seed", "data_seed", "save_strategy", "save_steps", "save_total_limit",
                  "report_to", "resume_from_checkpoint", "overwrite_output_dir")
# ranges TRL (or torch) checks only once training starts, seconds or hours into a run
_SFT_RANGES = {"learning_rate": Field(gt=0), "num_train_epochs": Field(gt=0), "max_steps": Field(ge=-1),
               "per_device_train_batch_size": Field(ge=1), "per_device_eval_batch_size": Field(ge=1),
               "gradient_accumulation_steps": Field(ge=1), "max_length": Field(ge=1), "warmup_steps": Field(ge=0),
               "weight_decay": Field(ge=0), "max_grad_norm": Field(ge=0), "adam_beta1": Field(ge=0, lt=1),
               "adam_beta2": Field(ge=0, lt=1), "adam_epsilon": Field(gt=0), "logging_steps": Field(gt=0)}


@functools.cache
def _sft_adapter(name: str) -> TypeAdapter:
    tp = field_type(SFT_FIELDS["fields"][name])
    if name in _SFT_RANGES:
        tp = Optional[Annotated[tp, _SFT_RANGES[name]]]
    return TypeAdapter(tp, config=ConfigDict(strict=True))


def yaml_float(x: float) -> str:
    """A float as YAML 1.1 reads it as a float: 0.0005, 1.0e-05 (never 1e-05, a string to PyYAML).

    >>> yaml_float(5e-4), yaml_float(1e-5), yaml_float(2e20)
    ('0.0005', '1.0e-05', '2.0e+20')
    """
    mantissa, _, exp = repr(x).partition("e")
    return repr(x) if not exp else f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exp}"


def _numeric_string(value) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def check_sft(sft: dict) -> dict:
    """train.sft: names, types and ranges of TRL's SFTConfig fields (values only TRL can judge: `config check`)."""
    fields = SFT_FIELDS["fields"]
    problems = []
    for key, value in sft.items():
        if non_finite(value):
            continue  # said once, for the whole file (checks.whole_file)
        if key in PIPELINE_OWNED:
            problems.append(((key,), f"set by the pipeline, not by params (owned: {', '.join(PIPELINE_OWNED)})"))
        elif key not in fields:
            close = near(key, sorted(fields))
            problems.append(((key,), "not a field of TRL's SFTConfig" + (f"; did you mean {', '.join(close)}?"
                                                                         if close else "")))
        elif _numeric_string(value) and fields[key] != "str":
            problems.append(((key,), f"{value!r} is read as a string by YAML 1.1 (PyYAML) but as a number by DVC; "
                                     f"write it with a dot and a signed exponent, e.g. {yaml_float(float(value))}"))
        else:
            try:
                _sft_adapter(key).validate_python(value)
            except ValidationError as exc:
                problems.append(((key,), f"{value!r} is not allowed: {exc.errors()[0]['msg']} (TRL "
                                         f"{SFT_FIELDS['trl']} SFTConfig.{key}: {json.dumps(fields[key])})"))
    if problems:
        fail(problems)
    return sft
