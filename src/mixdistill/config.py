"""Typed, validated view of params.yaml: the only module that reads it.

Every problem in the file is collected and reported in one `ConfigError`,
each line naming the key path and what is allowed, before any stage does work.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml

from .errors import ConfigError

ROLES = ("long", "short", "large", "small")
# recipe -> (hard teacher, easy teacher); the weight is the fraction of examples from the hard one
PAIRS = {"long_short": ("long", "short"), "large_small": ("large", "small")}
RECIPES = {
    "long": ("long_short", "hard"),
    "short": ("long_short", "easy"),
    "large": ("large_small", "hard"),
    "small": ("large_small", "easy"),
    "mix_long": ("long_short", "mix"),
    "mix_large": ("large_small", "mix"),
}
BACKENDS = ("synthetic", "transformers", "openai", "vllm", "dataset")
SYNTHETIC_STYLES = ROLES
PAPER_PROMPT = (
    "Solve the following math problem. Present the final answer in the format: "
    "Final Answer: \\boxed{{your_answer}}.\nProblem: {problem}\nAnswer:"
)


def _range(lo=None, hi=None, lo_open=False):
    return {"range": (lo, hi, lo_open)}


@dataclass(frozen=True)
class PromptConfig:
    template: str = PAPER_PROMPT
    system: Optional[str] = None


@dataclass(frozen=True)
class ProblemSource:
    """Where problems come from.

    reasoning_gym: a seeded generator (`task`, `config`); file: a local JSONL/JSON/Parquet/CSV (`path`);
    hf: a Hugging Face dataset id (`path`, `subset`, `split`; `subset: "a,b"` concatenates
    several configs in that order); registry: a named benchmark or training
    set (`task`: math500, gsm8k, amc23, aime24, olympiadbench, math_train) with its known mapping.
    """

    source: Literal["reasoning_gym", "jsonl", "file", "hf", "registry"] = "reasoning_gym"
    task: str = ""
    path: str = ""
    subset: Optional[str] = None
    split: str = "train"
    question_field: str = "question"
    answer_field: str = "answer"
    answer_format: Literal["plain", "boxed", "gsm8k"] = "plain"  # how the gold answer sits in answer_field
    grading: Literal["boxed", "numeric"] = "boxed"  # numeric: fall back to the last number (GSM8K style)
    count: int = field(default=0, metadata=_range(1))  # not "size": DVC's run-cache ignores keys named size
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProblemsConfig:
    train: tuple[ProblemSource, ...] = ()
    benchmarks: dict[str, ProblemSource] = field(default_factory=dict)


@dataclass(frozen=True)
class RandomInit:
    layers: int = field(default=2, metadata=_range(1))
    hidden: int = field(default=64, metadata=_range(8))
    heads: int = field(default=4, metadata=_range(1))
    kv_heads: int = field(default=2, metadata=_range(1))
    intermediate: int = field(default=128, metadata=_range(8))


@dataclass(frozen=True)
class StudentConfig:
    source: Literal["gguf", "pretrained", "random"] = "gguf"
    package: str = ""
    file: str = ""
    path: str = ""
    random: Optional[RandomInit] = None
    family: str = ""
    params_b: Optional[float] = field(default=None, metadata=_range(0, None, True))
    trust_remote_code: bool = False


@dataclass(frozen=True)
class TeacherConfig:
    backend: Literal["synthetic", "transformers", "openai", "vllm", "dataset"] = "synthetic"
    model: str = ""
    style: Optional[Literal["long", "short", "large", "small"]] = None
    error_rate: float = field(default=0.0, metadata=_range(0, 1))
    system_prompt: Optional[str] = None
    template: Optional[str] = None  # this teacher's prompt; null: prompt.template
    samples_per_problem: int = field(default=1, metadata=_range(1))
    temperature: float = field(default=0.0, metadata=_range(0))
    top_p: float = field(default=1.0, metadata=_range(0, 1, True))
    max_tokens: int = field(default=512, metadata=_range(1))
    batch_size: int = field(default=8, metadata=_range(1))
    filter: Literal["first_correct", "all_correct", "keep_all"] = "first_correct"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReleasedSet:
    """A published training set (local JSONL/JSON/Parquet file or hub dataset id) used as a recipe's data."""

    dataset: str = ""
    question_column: str = "question"
    response_column: str = "response"
    split: str = "train"


MIX_RECIPES = ("mix_long", "mix_large")


@dataclass(frozen=True)
class MixConfig:
    weight: float = field(default=0.2, metadata=_range(0, 1))
    large_weight: float = field(default=0.2, metadata=_range(0, 1))
    # mix recipe -> a published mixed set trained on as is instead of re-mixing (its weight is then the set's)
    released: dict[str, ReleasedSet] = field(default_factory=dict)


@dataclass(frozen=True)
class LoraConfig:
    r: int = field(default=16, metadata=_range(1))
    alpha: int = field(default=32, metadata=_range(1))
    dropout: float = field(default=0.0, metadata=_range(0, 1))
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    layers: Optional[int] = field(default=None, metadata=_range(1))  # adapt only the top N layers; null: all


@dataclass(frozen=True)
class TrainConfig:
    method: Literal["lora", "full"] = "lora"
    lr: float = field(default=3e-4, metadata=_range(0, None, True))
    epochs: float = field(default=2.0, metadata=_range(0, None, True))
    batch_size: int = field(default=8, metadata=_range(1))
    grad_accum: int = field(default=1, metadata=_range(1))
    max_length: int = field(default=512, metadata=_range(16))
    scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = field(default=0.0, metadata=_range(0, 0.99))
    weight_decay: float = field(default=0.0, metadata=_range(0))
    gradient_checkpointing: bool = False
    # TRL packing: examples share max_length-token rows. With strategy bfd (best-fit decreasing) TRL trains
    # padding-free: position ids restart per example and attention never crosses examples (the released
    # mix config's neat_packing). wrapped cuts examples at row ends.
    packing: bool = False
    packing_strategy: Literal["bfd", "wrapped"] = "bfd"
    lora: LoraConfig = field(default_factory=LoraConfig)
    # per-run changes of the keys in OVERRIDABLE, keyed by RECIPE, STUDENT or STUDENT-RECIPE; for one run
    # they apply in that order, so a student's memory limits win over a recipe's preferences.
    overrides: dict[str, dict] = field(default_factory=dict)
    # resumable training: checkpoints every save_steps go to the stage's work folder (outside DVC
    # outputs) and a rerun of a killed stage continues from the last one. Not tracked by dvc.yaml:
    # they change how a run survives a kill, not its result.
    resume: bool = False
    save_steps: int = field(default=50, metadata=_range(1))
    # how the train stage is started: "python", or e.g. "accelerate launch --config_file
    # configs/accelerate/ddp.yaml" for DDP / FSDP / DeepSpeed (interpolated into dvc.yaml's command)
    launch: str = "python"


@dataclass(frozen=True)
class EvalConfig:
    backend: Literal["transformers", "vllm"] = "transformers"
    batch_size: int = field(default=16, metadata=_range(1))
    max_new_tokens: int = field(default=256, metadata=_range(1))
    options: dict = field(default_factory=dict)  # vllm engine options (tensor_parallel_size, max_model_len, ...)
    # the paper's decoding is greedy, one sample; samples > 1 (with a temperature) adds pass@k to the metrics
    samples: int = field(default=1, metadata=_range(1))
    temperature: float = field(default=0.0, metadata=_range(0))
    top_p: float = field(default=1.0, metadata=_range(0, 1, True))


@dataclass(frozen=True)
class AnalysisConfig:
    style_samples: int = field(default=16, metadata=_range(1))  # responses per recipe scored for the style shift
    top_k: int = field(default=15, metadata=_range(1))  # most-shifted tokens listed per recipe


@dataclass(frozen=True)
class Config:
    seed: int = 0
    prompt: PromptConfig = field(default_factory=PromptConfig)
    problems: ProblemsConfig = field(default_factory=ProblemsConfig)
    students: dict[str, StudentConfig] = field(default_factory=dict)
    teachers: dict[str, TeacherConfig] = field(default_factory=dict)
    mix: MixConfig = field(default_factory=MixConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def train_for(self, student: str | None, recipe: str | None) -> TrainConfig:
        """The training settings of one run: `train` with its overrides applied (see TrainConfig.overrides)."""
        cfg = self.train
        keys = [k for k in (recipe, student) if k] + ([f"{student}-{recipe}"] if student and recipe else [])
        for key in keys:
            if key in cfg.overrides:
                errors: list[str] = []
                cfg = _apply_override(cfg, cfg.overrides[key], f"train.overrides.{key}", errors)
                if errors:  # parse_config has reported these already; reaching here is a bug
                    raise ConfigError(errors)
        return dataclasses.replace(cfg, overrides={})

    def recipe_weight(self, recipe: str) -> float:
        """Fraction of a recipe's examples taken from its pair's hard teacher."""
        pair, kind = RECIPES[recipe]
        if kind == "hard":
            return 1.0
        if kind == "easy":
            return 0.0
        return self.mix.weight if pair == "long_short" else self.mix.large_weight


# ---------------------------------------------------------------- generic builder


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin is tuple:
        return "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _build(tp, value, path: str, errors: list[str]):
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(args[0], value, path, errors)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            errors.append(f"{path}: {value!r} is not allowed; allowed: {', '.join(map(str, allowed))}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path, errors)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return ()
        (item_tp, _) = typing.get_args(tp)
        return tuple(_build(item_tp, v, f"{path}[{i}]", errors) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping, got {type(value).__name__}")
            return {}
        _, val_tp = typing.get_args(tp)
        return {str(k): _build(val_tp, v, f"{path}.{k}", errors) for k, v in value.items()}
    if tp is dict:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping, got {type(value).__name__}")
            return {}
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected a number, got {value!r}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {path}")  # a bug in this module


def _build_dataclass(cls, data, path: str, errors: list[str]):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.append(f"{path or '<root>'}: expected a mapping, got {type(data).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            errors.append(f"{_join(path, key)}: unknown key; allowed: {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key_path = _join(path, name)
        if name not in data:
            continue
        n_before = len(errors)
        value = _build(hints[name], data[name], key_path, errors)
        if len(errors) == n_before and "range" in f.metadata and isinstance(value, (int, float)):
            lo, hi, lo_open = f.metadata["range"]
            if (lo is not None and (value <= lo if lo_open else value < lo)) or (hi is not None and value > hi):
                lo_s = "-inf" if lo is None else lo
                hi_s = "inf" if hi is None else hi
                bracket = "(" if lo_open else "["
                errors.append(f"{key_path}: {value!r} is out of range; allowed: {bracket}{lo_s}, {hi_s}]")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # only on wrong types already reported
        errors.append(f"{path}: {exc}")
        return None


# TrainConfig keys a per-run override may change (the launcher and resume settings are per pipeline)
OVERRIDABLE = ("method", "lr", "epochs", "batch_size", "grad_accum", "max_length", "scheduler", "warmup_ratio",
               "weight_decay", "gradient_checkpointing", "packing", "packing_strategy", "lora")


def _apply_override(cfg: TrainConfig, override, path: str, errors: list[str]) -> TrainConfig:
    """`cfg` with one override mapping applied; `lora` merges key by key into cfg.lora."""
    if not isinstance(override, dict):
        errors.append(f"{path}: expected a mapping of train keys, got {override!r}")
        return cfg
    for key in override:
        if key not in OVERRIDABLE:
            errors.append(f"{path}.{key}: not overridable per run; allowed: {', '.join(OVERRIDABLE)}")
    plain = {k: v for k, v in override.items() if k in OVERRIDABLE and k != "lora"}
    built = _build_dataclass(TrainConfig, plain, path, errors)
    changes = {k: getattr(built, k) for k in plain} if built is not None else {}
    if "lora" in override:
        lora = override["lora"]
        built_lora = _build_dataclass(LoraConfig, lora, f"{path}.lora", errors)
        if built_lora is not None:
            changes["lora"] = dataclasses.replace(cfg.lora, **{k: getattr(built_lora, k) for k in lora})
    return dataclasses.replace(cfg, **changes)


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


# ---------------------------------------------------------------- domain checks


def _check(cfg: Config, errors: list[str]) -> None:
    """Cross-field checks; each group runs on its own so one broken field hides nothing else."""
    for check in (_check_prompt, _check_problems, _check_students, _check_teachers, _check_launch, _check_overrides,
                  _check_released, _check_eval):
        try:
            check(cfg, errors)
        except (TypeError, AttributeError, ValueError):  # a field of the wrong type, already reported
            continue


def _check_prompt(cfg: Config, errors: list[str]) -> None:
    if "{problem}" not in cfg.prompt.template:
        errors.append("prompt.template: must contain the placeholder {problem}")


def _check_problems(cfg: Config, errors: list[str]) -> None:
    if not cfg.problems.train:
        errors.append("problems.train: must list at least one problem source")
    if not cfg.problems.benchmarks:
        errors.append("problems.benchmarks: must name at least one benchmark")
    sources = [(f"problems.train[{i}]", s) for i, s in enumerate(cfg.problems.train)]
    sources += [(f"problems.benchmarks.{k}", s) for k, s in cfg.problems.benchmarks.items()]
    for path, src in sources:
        if src is None:
            continue
        if src.count < 1:
            errors.append(f"{path}.count: must be set to a positive integer")
        if src.source == "reasoning_gym" and not src.task:
            errors.append(f"{path}.task: required for source reasoning_gym (a reasoning-gym dataset name)")
        if src.source in ("jsonl", "file", "hf") and not src.path:
            what = "a Hugging Face dataset id" if src.source == "hf" else "a JSONL/JSON/Parquet/CSV file"
            errors.append(f"{path}.path: required for source {src.source} ({what})")
        if src.source == "registry" and not src.task:
            errors.append(f"{path}.task: required for source registry (a named benchmark, e.g. math500)")


def _check_students(cfg: Config, errors: list[str]) -> None:
    if not cfg.students:
        errors.append("students: must name at least one student")
    for name, st in cfg.students.items():
        if st is None:
            continue
        if "-" in name or "@" in name:
            errors.append(f"students.{name}: names may not contain '-' or '@' (DVC joins matrix values with '-')")
        if st.source == "gguf" and not (st.path or (st.package and st.file)):
            errors.append(f"students.{name}: source gguf needs path (a .gguf file) or package and file")
        if st.source == "pretrained" and not st.path:
            errors.append(f"students.{name}.path: required for source pretrained (a local folder or hub id)")
        if st.source == "random" and not (st.path or (st.package and st.file)):
            errors.append(f"students.{name}: source random needs a tokenizer: path, or package and file of a GGUF")


def _check_launch(cfg: Config, errors: list[str]) -> None:
    first = cfg.train.launch.split()[0] if cfg.train.launch.strip() else ""
    if first not in ("python", "python3", "accelerate", "torchrun"):
        errors.append(f"train.launch: {cfg.train.launch!r} must start with python, accelerate or torchrun")


def _check_eval(cfg: Config, errors: list[str]) -> None:
    if cfg.evaluate.samples > 1 and cfg.evaluate.temperature == 0:
        errors.append(f"evaluate.samples: {cfg.evaluate.samples} samples of greedy decoding are identical; "
                      "set evaluate.temperature > 0 (e.g. 0.6) or samples: 1")


def _check_released(cfg: Config, errors: list[str]) -> None:
    for recipe, spec in cfg.mix.released.items():
        if recipe not in MIX_RECIPES:
            errors.append(f"mix.released.{recipe}: only mix recipes take a released set; allowed: {', '.join(MIX_RECIPES)}"
                          " (single-teacher recipes take their teacher's set: teachers.ROLE.backend: dataset)")
        if spec is not None and not spec.dataset:
            errors.append(f"mix.released.{recipe}.dataset: required (a JSONL/JSON/Parquet file or a hub dataset id)")


def _check_overrides(cfg: Config, errors: list[str]) -> None:
    students = set(cfg.students)
    for key, override in cfg.train.overrides.items():
        path = f"train.overrides.{key}"
        student, _, recipe = key.partition("-")
        if key in RECIPES and key in students:
            errors.append(f"{path}: {key!r} names both a recipe and a student; rename the student")
        elif not (key in RECIPES or key in students or (student in students and recipe in RECIPES)):
            errors.append(f"{path}: not a recipe, a student or STUDENT-RECIPE; recipes: {', '.join(RECIPES)}; "
                          f"students: {', '.join(sorted(students))}")
        _apply_override(cfg.train, override, path, errors)


def _check_teachers(cfg: Config, errors: list[str]) -> None:
    for role in cfg.teachers:
        if role not in ROLES:
            errors.append(f"teachers.{role}: unknown teacher role; allowed: {', '.join(ROLES)}")
    for role in ROLES:
        if role not in cfg.teachers:
            errors.append(f"teachers.{role}: missing; every role must be configured: {', '.join(ROLES)}")
    for role, t in cfg.teachers.items():
        if t is None:
            continue
        if t.template is not None and "{problem}" not in t.template:
            errors.append(f"teachers.{role}.template: must contain the placeholder {{problem}}")
        if t.backend == "synthetic" and t.style is None:
            errors.append(f"teachers.{role}.style: required for backend synthetic; allowed: {', '.join(SYNTHETIC_STYLES)}")
        if t.backend != "synthetic" and not t.model:
            what = "a dataset file or hub id" if t.backend == "dataset" else "a model name, folder or hub id"
            errors.append(f"teachers.{role}.model: required for backend {t.backend} ({what})")
        if t.backend != "synthetic" and t.error_rate:
            errors.append(f"teachers.{role}.error_rate: only the synthetic backend injects errors")


# Keys that dvc.yaml tracks: they must be present in the params file, even where a default exists.
REQUIRED = (
    "seed", "prompt.template", "prompt.system", "problems.train", "problems.benchmarks", "students",
    "teachers.long", "teachers.short", "teachers.large", "teachers.small", "mix.weight", "mix.large_weight",
    "mix.released", "train.method", "train.lr", "train.epochs", "train.batch_size", "train.grad_accum", "train.max_length",
    "train.scheduler", "train.warmup_ratio", "train.weight_decay", "train.gradient_checkpointing", "train.lora",
    "train.packing", "train.packing_strategy", "train.overrides",
    "train.launch", "evaluate.backend", "evaluate.batch_size", "evaluate.max_new_tokens", "evaluate.options",
    "evaluate.samples", "evaluate.temperature", "evaluate.top_p",
    "analysis.style_samples", "analysis.top_k",
)


def _missing_required(data: dict) -> list[str]:
    out = []
    for key in REQUIRED:
        node = data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                out.append(f"{key}: missing; dvc.yaml tracks this key, so params.yaml must set it "
                           f"(see the default params.yaml for its value)")
                break
            node = node[part]
    return out


_HASH_BLIND = ("size", "nfiles")  # DVC leaves these keys out of the run-cache hash (treeverse/dvc#10296)


def _hash_blind_keys(data, path="") -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            p = _join(path, k)
            if k in _HASH_BLIND:
                found.append(f"{p}: keys named {' or '.join(_HASH_BLIND)} are invisible to DVC's run-cache "
                             "(treeverse/dvc#10296), so a change would silently restore stale outputs; rename it "
                             "(problem sources use count)")
            found += _hash_blind_keys(v, p)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _hash_blind_keys(v, f"{path}[{i}]")
    return found


def parse_config(data: Any, source: str = "params.yaml") -> Config:
    errors: list[str] = _hash_blind_keys(data)
    cfg = _build_dataclass(Config, data, "", errors)
    if isinstance(data, dict):
        errors += [e for e in _missing_required(data) if not any(e.split(":")[0] == x.split(":")[0] for x in errors)]
    if cfg is not None:
        _check(cfg, errors)
    if errors:
        raise ConfigError(errors, source)
    return cfg


def load_config(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: file not found (run from the project root, or pass --params)"], str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([f"not valid YAML: {exc}"], str(path)) from exc
    return parse_config(data, str(path))
