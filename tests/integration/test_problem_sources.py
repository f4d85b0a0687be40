"""Problem sources other than reasoning-gym: local files, a dataset folder through `datasets`, the registry."""

import json

import pandas as pd
import pytest

from mixdistill.benchmarks import REGISTRY
from mixdistill.config import ConfigError, FileSource, HubSource, RegistrySource, parse_config
from mixdistill.grading import grade
from mixdistill.io import DataError
from mixdistill.problems import load_source

MATH_ROWS = [
    {"problem": "What is $1+1$?", "solution": "Add: $1+1=\\boxed{2}$.", "level": "Level 1"},
    {"problem": "Simplify $\\frac{2}{4}$.", "solution": "Divide by 2 to get $\\boxed{\\frac{1}{2}}$.", "level": "Level 2"},
    {"problem": "What is $3\\cdot 3$?", "solution": "It is $\\boxed{9}$.", "level": "Level 1"},
]


@pytest.mark.parametrize("suffix", ["jsonl", "parquet", "csv"])
def test_file_source_with_field_mapping_and_boxed_answers(tmp_path, suffix):
    path = tmp_path / f"math.{suffix}"
    df = pd.DataFrame(MATH_ROWS)
    {"jsonl": lambda: df.to_json(path, orient="records", lines=True), "parquet": lambda: df.to_parquet(path),
     "csv": lambda: df.to_csv(path, index=False)}[suffix]()
    src = FileSource(source="file", path=str(path), question_field="problem", answer_field="solution",
                        answer_format="boxed", count=2)
    recs = load_source(src, seed=0, name="math")
    assert [r["answer"] for r in recs] == ["2", "\\frac{1}{2}"]
    assert recs[0]["question"] == "What is $1+1$?" and recs[0]["problem_id"] == "math-00000"
    assert recs[0]["grading"] == "boxed"


def test_hub_style_dataset_folder_gsm8k_format(tmp_path):
    folder = tmp_path / "gsm8k" / "main"
    folder.mkdir(parents=True)
    rows = [{"question": f"Tom has {i} apples and buys 1000 more. How many?", "answer": f"{i}+1000\n#### {i + 1000:,}"}
            for i in range(5)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the hub's layout: a README declaring the subset, as openai/gsm8k does
    (tmp_path / "gsm8k" / "README.md").write_text(
        "---\nconfigs:\n- config_name: main\n  data_files:\n  - split: test\n    path: main/test.jsonl\n---\n")
    src = HubSource(source="hf", path=str(tmp_path / "gsm8k"), subset="main", split="test",
                        answer_format="gsm8k", grading="numeric", count=5)
    recs = load_source(src, seed=0, name="gsm8k")
    assert [r["answer"] for r in recs] == [str(i + 1000) for i in range(5)]
    assert {r["grading"] for r in recs} == {"numeric"}


def test_comma_separated_subsets_are_concatenated_in_order(tmp_path):
    # the layout of EleutherAI/hendrycks_math (one config per subject), which the math_train registry entry reads
    root = tmp_path / "math"
    configs = ""
    for subject, n in (("algebra", 2), ("geometry", 1)):
        (root / subject).mkdir(parents=True)
        rows = [{"problem": f"{subject} {i}?", "solution": f"so \\boxed{{{i}}}"} for i in range(n)]
        (root / subject / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        configs += f"- config_name: {subject}\n  data_files:\n  - split: train\n    path: {subject}/train.jsonl\n"
    (root / "README.md").write_text(f"---\nconfigs:\n{configs}---\n")
    src = HubSource(source="hf", path=str(root), subset="algebra, geometry", split="train",
                        question_field="problem", answer_field="solution", answer_format="boxed", count=10)
    recs = load_source(src, seed=0, name="math")
    assert [r["question"] for r in recs] == ["algebra 0?", "algebra 1?", "geometry 0?"]
    assert REGISTRY["math_train"]["subset"].count(",") == 6  # MATH's seven subjects


def test_amc_style_list_answers_grade_against_integer_responses(tmp_path):
    # math-ai/amc23 copies the Qwen2.5-Math file: answers are one-element lists of floats written as text
    path = tmp_path / "amc.jsonl"
    path.write_text(json.dumps({"question": "How many miles?", "answer": ["27.0"]}) + "\n")
    (rec,) = load_source(FileSource(source="file", path=str(path), count=1), seed=0, name="amc23")
    assert rec["answer"] == "27.0"
    assert grade("Final Answer: \\boxed{27}", rec["answer"]).correct
    assert not grade("Final Answer: \\boxed{26}", rec["answer"]).correct


def test_registry_maps_names_and_rejects_unknown_ones():
    gsm = RegistrySource(source="registry", task="gsm8k", count=1319).resolve()
    assert (gsm.source, gsm.path, gsm.subset, gsm.split, gsm.answer_format, gsm.grading) == \
        ("hf", "openai/gsm8k", "main", "test", "gsm8k", "numeric")
    mine = RegistrySource(source="registry", task="math500", count=10, split="validation").resolve()
    assert mine.path == REGISTRY["math500"]["path"] and mine.split == "validation"  # params win
    with pytest.raises(ConfigError, match="problems.benchmarks.x.task: Input should be 'math500', 'gsm8k'"):
        parse_config({"problems": {"benchmarks": {"x": {"source": "registry", "task": "math5000", "count": 1}}}})


def test_missing_fields_are_named_and_rows_without_gold_skipped_once(tmp_path, caplog):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"problem": "1+1", "solution": "no box here"}) + "\n")
    with pytest.raises(DataError, match="has no column\\(s\\) \\['question', 'answer'\\]; its columns: problem, solution"):
        load_source(FileSource(source="file", path=str(path), count=1), seed=0, name="b")
    rows = [{"problem": "1+1", "solution": "no box here"}, {"problem": "2+2", "solution": r"so $\boxed 4$"},
            {"problem": "3+3", "solution": r"\boxed{}"}, {"problem": "4+4", "solution": r"\boxed{8}"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = FileSource(source="file", path=str(path), question_field="problem", answer_field="solution",
                     answer_format="boxed", count=5)
    with caplog.at_level("WARNING"):
        recs = load_source(src, seed=0, name="b")
    assert [(r["problem_id"], r["answer"]) for r in recs] == [("b-00001", "4"), ("b-00003", "8")]
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"b: skipped 2 row(s) of {path} with no answer in 'solution' (format boxed): rows 1, 3",
                      f"b: {path} holds 2 usable problems, fewer than count=5; using all"]


def test_every_row_of_a_file_source_is_checked_and_named(tmp_path):
    """A later row without the question, a list-valued or null question: an error naming file and rows (was a
    KeyError or 'unhashable type: list' from the first row's check only)."""
    rows = [{"question": "1+1", "answer": "2"}, {"answer": "3"}, {"question": ["a", "b"], "answer": "4"},
            {"question": None, "answer": "5"}, {"question": "6+1", "answer": {"x": 7}}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError) as err:
        load_source(FileSource(source="file", path=str(path), count=5), seed=0, name="p")
    assert str(err.value) == (f"p: {path} has 4 unusable row(s): row 2: 'question' is missing; row 3: 'question' is a "
                              "list, not text; row 4: 'question' is null; row 5: 'answer' is not a scalar (fix the file, "
                              "or set question_field / answer_field)")


def test_repeated_questions_are_refused_in_benchmarks_and_dropped_from_training(tmp_path, caplog):
    rows = [{"question": "1+1", "answer": "2"}, {"question": "2+2", "answer": "4"}, {"question": "1+1", "answer": "2"}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    src = FileSource(source="file", path=str(path), count=3)
    with pytest.raises(DataError, match=r"repeats 1 question\(s\): row 3 repeats row 1; a benchmark counts each"):
        load_source(src, seed=0, name="b", benchmark=True)
    with caplog.at_level("WARNING"):
        assert [r["question"] for r in load_source(src, seed=0, name="t")] == ["1+1", "2+2"]
    assert caplog.records[0].getMessage() == f"t: dropped 1 repeated question(s) of {path} (row 3 repeats row 1); each trains once"
