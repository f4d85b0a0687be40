"""Problem sources: seeded reasoning-gym generators and local JSONL files.

Each record: problem_id, question, answer, source, task, metadata.
Benchmarks never repeat a training question (they are drawn from other seeds and
de-duplicated against the training set).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import zlib
from pathlib import Path

from .config import ProblemSource, ProblemsConfig
from .grading import last_boxed
from .io import DataError, read_jsonl

log = logging.getLogger(__name__)


def _seed(base: int, *parts: str) -> int:
    return (base * 1_000_003 + zlib.crc32(":".join(parts).encode())) % (2**31)


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


# Named datasets: the paper's benchmarks and training prompts, with their hub ids and field mappings
# (as published on the Hugging Face hub; override any field in params if a copy differs).
# Hub ids and fields checked against the dataset cards (not loadable here: no hub access at run time).
# amc23's card lists no fields; the names below are those of the Qwen2.5-Math evaluation file it copies.
MATH_SUBJECTS = ("algebra,counting_and_probability,geometry,intermediate_algebra,number_theory,"
                 "prealgebra,precalculus")
REGISTRY: dict[str, dict] = {
    "math500": dict(path="HuggingFaceH4/MATH-500", split="test", question_field="problem", answer_field="answer"),
    "gsm8k": dict(path="openai/gsm8k", subset="main", split="test", question_field="question",
                  answer_field="answer", answer_format="gsm8k", grading="numeric"),
    "amc23": dict(path="math-ai/amc23", split="test", question_field="question", answer_field="answer"),
    "aime24": dict(path="HuggingFaceH4/aime_2024", split="train", question_field="problem", answer_field="answer"),
    "olympiadbench": dict(path="Hothan/OlympiadBench", subset="OE_TO_maths_en_COMP", split="train",
                          question_field="question", answer_field="final_answer"),
    # MATH train (7,500): one hub config per subject, concatenated in this order
    "math_train": dict(path="EleutherAI/hendrycks_math", subset=MATH_SUBJECTS, split="train",
                       question_field="problem", answer_field="solution", answer_format="boxed"),
}


def resolve(src: ProblemSource) -> ProblemSource:
    """A registry source replaced by its hub mapping (fields set in params win over the registry's)."""
    if src.source != "registry":
        return src
    if src.task not in REGISTRY:
        raise DataError(f"unknown benchmark {src.task!r}; known: {', '.join(sorted(REGISTRY))}")
    defaults = ProblemSource()
    known = {k: v for k, v in REGISTRY[src.task].items() if getattr(src, k) == getattr(defaults, k)}
    return dataclasses.replace(src, source="hf", **known)


def load_source(src: ProblemSource, seed: int, name: str, size: int | None = None) -> list[dict]:
    """`size` items (default src.count) from one source, ids prefixed by `name`."""
    src = resolve(src)
    size = size or src.count
    if src.source == "reasoning_gym":
        return _reasoning_gym(src, seed, name, size)
    return _table(src, name, size)


def _reasoning_gym(src: ProblemSource, seed: int, name: str, size: int) -> list[dict]:
    import reasoning_gym
    from reasoning_gym.factory import DATASETS

    if src.task not in DATASETS:
        raise DataError(f"unknown reasoning-gym task {src.task!r} for {name}; known tasks: {', '.join(sorted(DATASETS))}")
    try:  # reasoning-gym validates some config at creation and some only when an item is drawn
        ds = reasoning_gym.create_dataset(src.task, seed=seed, size=size, **src.config)
        items = [ds[i] for i in range(size)]
    except (TypeError, ValueError, AssertionError, KeyError) as exc:
        raise DataError(f"{name}: reasoning-gym task {src.task!r} rejected config {src.config}: {exc}") from None
    out = []
    for i, item in enumerate(items):
        out.append(
            {
                "problem_id": f"{name}-{i:05d}",
                "question": item["question"],
                "answer": str(item["answer"]),
                "source": f"reasoning_gym:{src.task}",
                "task": src.task,
                "metadata": _jsonable(item.get("metadata", {})),
            }
        )
    return out


_LOCAL = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def _rows(src: ProblemSource):
    """Rows of a local file (jsonl/file) or a hub dataset (hf), through `datasets`."""
    if src.source == "jsonl":
        return read_jsonl(src.path)
    from datasets import load_dataset

    if src.source == "file":
        fmt = _LOCAL.get(Path(src.path).suffix)
        if fmt is None:
            raise DataError(f"{src.path}: unsupported file type; use one of {', '.join(_LOCAL)}")
        if not Path(src.path).exists():
            raise DataError(f"{src.path}: file not found")
        return load_dataset(fmt, data_files=src.path, split="train")
    subsets = [s.strip() for s in src.subset.split(",")] if src.subset else [None]
    parts = [load_dataset(src.path, name, split=src.split) for name in subsets]
    if len(parts) == 1:
        return parts[0]
    from datasets import concatenate_datasets

    return concatenate_datasets(parts)


def gold_answer(value, fmt: str) -> str | None:
    r"""The gold answer from a dataset field: as is, the last \boxed{} of a solution, or GSM8K's '#### N'.

    >>> gold_answer(r"so \boxed{\frac{1}{2}}.", "boxed"), gold_answer("3 apples\n#### 1,200", "gsm8k")
    ('\\frac{1}{2}', '1200')
    >>> gold_answer(["7"], "plain")
    '7'
    """
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value)
    if fmt == "boxed":
        return last_boxed(text)
    if fmt == "gsm8k":
        return text.rsplit("####", 1)[-1].strip().replace(",", "") if "####" in text else None
    return text.strip()


def _table(src: ProblemSource, name: str, size: int) -> list[dict]:
    rows = _rows(src)
    columns = rows.column_names if hasattr(rows, "column_names") else (list(rows[0]) if rows else [])
    missing = [c for c in (src.question_field, src.answer_field) if c not in columns]
    if missing:
        raise DataError(f"{name}: {src.path} has no field(s) {missing}; its fields: {', '.join(columns)} "
                        "(set question_field / answer_field)")
    n = min(size, len(rows))
    if n < size:
        log.warning("%s: %s holds %d problems, fewer than count=%d; using all", name, src.path, len(rows), size)
    out = []
    for i in range(n):
        row = rows[i]
        answer = gold_answer(row[src.answer_field], src.answer_format)
        if answer in (None, ""):
            raise DataError(f"{name}: {src.path} row {i + 1} has no answer in {src.answer_field!r} (format {src.answer_format})")
        out.append(
            {
                "problem_id": str(row.get("problem_id") or f"{name}-{i:05d}"),
                "question": row[src.question_field],
                "answer": answer,
                "source": f"{src.source}:{src.path}",
                "task": row.get("task", name),
                "grading": src.grading,
                "metadata": _jsonable(row.get("metadata", {})),
            }
        )
    return out


def build_train(cfg: ProblemsConfig, seed: int) -> list[dict]:
    records: list[dict] = []
    for i, src in enumerate(cfg.train):
        name = src.task or f"train{i}"
        records += load_source(src, _seed(seed, "train", str(i), name), name)
    _check_unique(records, "problems.train")
    return records


def build_benchmarks(cfg: ProblemsConfig, seed: int, train: list[dict]) -> list[dict]:
    """Benchmark records (with a `benchmark` field), none sharing a question with `train`."""
    seen = {r["question"] for r in train}
    records: list[dict] = []
    for name, src in cfg.benchmarks.items():
        # draw extra, then keep the first `size` unseen questions (generators may repeat easy items)
        pool = load_source(src, _seed(seed, "bench", name), name, size=src.count * 2 + 8)
        kept = []
        for rec in pool:
            if rec["question"] in seen:
                continue
            seen.add(rec["question"])
            kept.append({**rec, "benchmark": name})
            if len(kept) == src.count:
                break
        if len(kept) < src.count:
            log.warning("benchmark %s: only %d unique problems (asked %d)", name, len(kept), src.count)
        records += kept
    _check_unique(records, "problems.benchmarks")
    return records


def _check_unique(records: list[dict], where: str) -> None:
    ids = [r["problem_id"] for r in records]
    if len(ids) != len(set(ids)):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DataError(f"{where}: duplicate problem_id(s) {dupes}; give each source a distinct task or name")
