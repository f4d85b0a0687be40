"""profiles/paper-released.yaml wired end to end on local stand-ins for the UWNSL sets (no hub access here):
its own teacher, filter, column and mix.released settings, with only the dataset locations swapped."""

import json

import yaml

from mixdistill.io import read_json, read_jsonl
from stages import mix, problems, teach

from ..conftest import ROOT

QUESTIONS = [f"What is ${i} + {i}$?" for i in range(12)]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_paper_released_profile_on_local_stand_ins(tmp_path):
    math = _write(tmp_path / "math_train.jsonl",
                  [{"problem": q, "solution": f"Add: $\\boxed{{{2 * i}}}$."} for i, q in enumerate(QUESTIONS)])
    # released sets as published: long/short cover problems 0-9, large/small 2-11; one long answer is wrong
    sets = {
        "long": [(i, f"Let me think. Wait, {i}+{i}... Final Answer: \\boxed{{{2 * i + (i == 3)}}}") for i in range(10)],
        "short": [(i, f"\\boxed{{{2 * i}}}") for i in range(10)],
        "large": [(i, f"Large: {i}+{i}={2 * i}. \\boxed{{{2 * i}}}") for i in range(2, 12)],
        "small": [(i, f"Small: \\boxed{{{2 * i}}}") for i in range(2, 12)],
    }
    files = {role: _write(tmp_path / f"{role}.jsonl", [{"problem": QUESTIONS[i], "solution": r} for i, r in rows])
             for role, rows in sets.items()}
    files["mix_long"] = _write(tmp_path / "mix_long.jsonl",  # 2 long + 8 short, as Mix-Long_long_0.2_short_0.8
                               [{"problem": QUESTIONS[i], "solution": dict(sets["long" if i < 2 else "short"])[i]}
                                for i in range(10)])
    files["mix_large"] = _write(tmp_path / "mix_large.jsonl",
                                [{"problem": QUESTIONS[i], "solution": dict(sets["large" if i < 4 else "small"])[i]}
                                 for i in range(2, 12)])

    data = yaml.safe_load((ROOT / "profiles/paper-released.yaml").read_text())
    assert data["teachers"]["long"]["model"] == "UWNSL/MATH_training_split_long_cot"
    assert data["mix"]["released"]["mix_large"]["dataset"] == "UWNSL/Mix-Large_large_0.2_small_0.8"
    data["problems"]["train"] = [{"source": "file", "path": math, "question_field": "problem",
                                  "answer_field": "solution", "answer_format": "boxed", "count": 12}]
    data["problems"]["benchmarks"] = {"b": {"source": "file", "path": _write(tmp_path / "b.jsonl",
                                            [{"question": "What is $100 + 1$?", "answer": "101"}]), "count": 1}}
    for role in ("long", "short", "large", "small"):
        data["teachers"][role]["model"] = files[role]
    for recipe in ("mix_long", "mix_large"):
        data["mix"]["released"][recipe]["dataset"] = files[recipe]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(data))
    P = ["--params", str(params)]

    problems.main([*P, "--train", str(tmp_path / "train.jsonl"), "--benchmarks", str(tmp_path / "bench.jsonl")])
    for role in sets:
        teach.main([*P, "--role", role, "--problems", str(tmp_path / "train.jsonl"),
                    "--out", str(tmp_path / f"t/{role}.jsonl"), "--metrics", str(tmp_path / f"t/{role}.json"),
                    "--cache", str(tmp_path / "cache")])
    long = read_json(tmp_path / "t/long.json")
    # keep_all: all 10 published responses kept, the wrong one too; math-verify's verdict is still reported
    assert (long["kept_responses"], long["correct"], long["reasons"]["no_answer"]) == (10, 9, 2)
    for recipe, hard, easy in (("long", "long", "short"), ("mix_long", "long", "short"), ("mix_large", "large", "small")):
        mix.main([*P, "--recipe", recipe, "--hard", str(tmp_path / f"t/{hard}.jsonl"),
                  "--easy", str(tmp_path / f"t/{easy}.jsonl"), "--problems", str(tmp_path / "train.jsonl"),
                  "--out", str(tmp_path / f"m/{recipe}.jsonl"), "--manifest", str(tmp_path / f"m/{recipe}.json")])
    assert len(read_jsonl(tmp_path / "m/long.jsonl")) == 10  # the long set as published, wrong answer included
    ml, mg = read_json(tmp_path / "m/mix_long.json"), read_json(tmp_path / "m/mix_large.json")
    assert (ml["examples"], ml["from_hard"], ml["from_easy"], ml["observed_weight"]) == (10, 2, 8, 0.2)
    assert (mg["examples"], mg["from_hard"], mg["from_easy"], mg["observed_weight"]) == (10, 2, 8, 0.2)
