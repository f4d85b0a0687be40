"""Every stage's main(argv) on the tiny random student: real TRL, PEFT, math-verify, no downloads."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from mixdistill.io import read_json, read_jsonl
from stages import evaluate, gap, mix, problems, report, teach, train

from ..conftest import write_params


def test_problems_are_seeded_and_benchmarks_held_out(tmp_path, tiny_params):
    outs = []
    for i in range(2):
        t, b = tmp_path / f"t{i}.jsonl", tmp_path / f"b{i}.jsonl"
        problems.main(["--params", str(tiny_params), "--train", str(t), "--benchmarks", str(b)])
        outs.append((t.read_bytes(), b.read_bytes()))
    assert outs[0] == outs[1]
    train = read_jsonl(tmp_path / "t0.jsonl")
    train_q = {r["question"] for r in train}
    bench = read_jsonl(tmp_path / "b0.jsonl")
    assert len(train) == 10 and len(bench) == 7  # (1-digit sums repeat: training may hold a question twice)
    assert not train_q & {r["question"] for r in bench}
    assert {r["benchmark"] for r in bench} == {"chain_sum", "products"}
    assert all({"problem_id", "question", "answer", "source"} <= r.keys() for r in bench)


def test_teachers_and_mixes(tiny_run):
    long_ = read_jsonl(tiny_run / "teachers/long.jsonl")
    short = read_jsonl(tiny_run / "teachers/short.jsonl")
    assert len(long_) == len(short) == 10 and all(r["correct"] for r in long_)
    assert sum(len(r["response"].split()) for r in long_) > 3 * sum(len(r["response"].split()) for r in short)
    small = read_json(tiny_run / "metrics/teachers/small.json")
    assert small["requests"] == 10 and small["provenance"]["synthetic"] is True
    assert small["kept_problems"] == small["correct"] < 10  # error_rate 0.2 in the tiny profile
    m = read_json(tiny_run / "metrics/mixes/mix_long.json")
    assert (m["examples"], m["from_hard"], m["from_easy"]) == (10, 2, 8)
    ml = read_json(tiny_run / "metrics/mixes/mix_large.json")
    assert ml["examples"] == small["kept_problems"] and ml["from_hard"] == round(0.2 * ml["examples"])


def test_teacher_with_no_correct_answer_fails_mix_naming_it(tmp_path, tiny_run):
    params = write_params(tmp_path, **{"teachers.short": {"backend": "synthetic", "style": "short", "error_rate": 1.0}})
    teach.main(["--params", str(params), "--role", "short", "--problems", str(tiny_run / "train.jsonl"),
                "--out", str(tmp_path / "short.jsonl"), "--metrics", str(tmp_path / "short.json"), "--cache", ""])
    assert read_jsonl(tmp_path / "short.jsonl") == []
    argv = ["--params", str(params), "--recipe", "mix_long", "--hard", str(tiny_run / "teachers/long.jsonl"),
            "--easy", str(tmp_path / "short.jsonl"), "--out", str(tmp_path / "m.jsonl"), "--manifest", str(tmp_path / "m.json")]
    from stages._common import run

    assert run(mix.main, argv) == 2
    with pytest.raises(ValueError, match="teacher 'short' has no kept response"):
        mix.main(argv)
    assert not (tmp_path / "m.jsonl").exists()


def test_released_mix_is_used_as_published(tmp_path, tiny_run):
    """mix.released: a published mixed set (here a Parquet file written in the test) replaces re-mixing."""
    import pandas as pd

    long, short = read_jsonl(tiny_run / "teachers/long.jsonl"), read_jsonl(tiny_run / "teachers/short.jsonl")
    rows = [{"problem": r["question"], "solution": r["response"]} for r in long[:2]]
    rows += [{"problem": r["question"], "solution": r["response"]} for r in short[2:8]]
    rows += [{"problem": "A question that is not among the training problems", "solution": "x"}]
    pd.DataFrame(rows).to_parquet(tmp_path / "mix.parquet")
    params = write_params(tmp_path, **{"mix.released": {"mix_long": {
        "dataset": str(tmp_path / "mix.parquet"), "question_column": "problem", "response_column": "solution"}}})
    argv = ["--params", str(params), "--recipe", "mix_long", "--hard", str(tiny_run / "teachers/long.jsonl"),
            "--easy", str(tiny_run / "teachers/short.jsonl"), "--problems", str(tiny_run / "train.jsonl"),
            "--out", str(tmp_path / "m.jsonl"), "--manifest", str(tmp_path / "m.json")]
    mix.main(argv)
    man, recs = read_json(tmp_path / "m.json"), read_jsonl(tmp_path / "m.jsonl")
    assert (man["examples"], man["from_hard"], man["from_easy"], man["unmatched_rows"]) == (8, 2, 6, 1)
    assert man["observed_weight"] == 0.25 and man["released"].endswith("mix.parquet")
    assert {r["response"] for r in recs} == {r["solution"] for r in rows[:8]}
    # other recipes still re-mix
    mix.main(["--params", str(params), "--recipe", "mix_large", "--hard", str(tiny_run / "teachers/large.jsonl"),
              "--easy", str(tiny_run / "teachers/small.jsonl"), "--problems", str(tiny_run / "train.jsonl"),
              "--out", str(tmp_path / "l.jsonl"), "--manifest", str(tmp_path / "l.json")])
    assert "released" not in read_json(tmp_path / "l.json") and read_json(tmp_path / "l.json")["weight"] == 0.2


def test_transformers_teacher_backend_on_tiny_model(tmp_path, tiny_run, tiny_model):
    params = write_params(tmp_path, **{"teachers.large": {"backend": "transformers", "model": str(tiny_model),
                                                          "max_tokens": 8, "samples_per_problem": 2, "temperature": 0.7,
                                                          "filter": "keep_all"}})
    out = tmp_path / "large.jsonl"
    teach.main(["--params", str(params), "--role", "large", "--problems", str(tiny_run / "train.jsonl"),
                "--out", str(out), "--metrics", str(tmp_path / "large.json"), "--cache", str(tmp_path / "cache")])
    summary = read_json(tmp_path / "large.json")
    assert summary["requests"] == 20 and summary["provenance"]["backend"] == "transformers"
    records = read_jsonl(out)
    assert len(records) == 20  # keep_all keeps every sample, graded
    assert all(r["response_tokens"] <= 8 for r in records)
    assert summary["truncated"] == sum(r["finish_reason"] == "length" for r in records)


def _train(tmp_path, params, tiny_model, data, name):
    out = tmp_path / name
    train.main(["--params", str(params), "--base", str(tiny_model), "--data", str(data), "--out", str(out),
                "--metrics", str(tmp_path / f"{name}.json"), "--live", str(tmp_path / f"live-{name}"),
                "--work", str(tmp_path / "work"), "--seed", "0"])
    return out


def test_lora_training_changes_only_the_adapter(tmp_path, tiny_params, tiny_model, tiny_run):
    out = _train(tmp_path, tiny_params, tiny_model, tiny_run / "mixes/mix_long.jsonl", "lora")
    files = sorted(p.name for p in out.iterdir())
    assert files == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    weights = load_file(out / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # lora_B starts at zero: it moved
    summary = read_json(tmp_path / "lora.json")
    assert summary["examples"] == 10 and summary["steps"] == 3 and summary["train_tokens"] > 0
    loss = (tmp_path / "live-lora/plots/metrics/loss.tsv").read_text().splitlines()
    assert loss[0].split("\t")[:2] == ["step", "loss"] and len(loss) == 1 + summary["steps"]


def test_full_finetune_changes_the_weights(tmp_path, tiny_model, tiny_run):
    params = write_params(tmp_path, **{"train.method": "full", "train.sft.learning_rate": 0.01})
    out = _train(tmp_path, params, tiny_model, tiny_run / "mixes/short.jsonl", "full")
    before, after = load_file(tiny_model / "model.safetensors"), load_file(out / "model.safetensors")
    changed = [k for k in before if not before[k].equal(after[k])]
    assert len(changed) > len(before) // 2
    assert (out / "tokenizer.json").exists()


def test_packing_is_padding_free_and_keeps_examples_apart(tmp_path, tiny_params, tiny_model, tiny_run):
    """bfd packing puts several examples in one row; the loss on a packed row must equal the loss of its
    examples run one by one, so no example attends to another (CPU, SDPA attention)."""
    from mixdistill.config import load_config
    from mixdistill.io import read_jsonl
    from mixdistill.train import build_trainer

    cfg = load_config(write_params(tmp_path, **{"train.sft.packing": True, "train.sft.max_length": 1024}))
    records = read_jsonl(tiny_run / "mixes/long.jsonl")
    trainer, _ = build_trainer(str(tiny_model), records, cfg.train, cfg.prompt, cfg.seed, str(tmp_path / "ckpt"))
    assert trainer.padding_free and len(trainer.train_dataset) < len(records)
    batch = next(iter(trainer.get_train_dataloader()))
    ids, pos, labels = batch["input_ids"][0], batch["position_ids"][0], batch["labels"][0]
    starts = (pos == 0).nonzero().flatten().tolist() + [len(pos)]
    assert len(starts) > 2  # at least two examples share the row
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=ids[None], position_ids=pos[None], labels=labels[None]).loss.item()
        total = counted = 0
        for a, b in zip(starts[:-1], starts[1:]):
            n = int((labels[a + 1:b] != -100).sum())
            if n:
                total += model(input_ids=ids[None, a:b], labels=labels[None, a:b]).loss.item() * n
                counted += n
    assert packed == pytest.approx(total / counted, rel=1e-5)
    # the same set unpacked: a different, padded layout of the same tokens
    plain, _ = build_trainer(str(tiny_model), records, load_config(tiny_params).train, cfg.prompt, cfg.seed, str(tmp_path / "c2"))
    assert len(plain.train_dataset) == len(records) and not plain.padding_free


def test_per_run_overrides_reach_trl(tmp_path, tiny_model, tiny_run):
    """train.overrides by recipe, student and STUDENT-RECIPE: the mix run packs with a larger global batch."""
    params = write_params(tmp_path, **{"train.overrides": {
        "mix_long": {"sft": {"packing": True, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2}},
        "tiny": {"sft": {"learning_rate": 0.002}},
        "tiny-mix_long": {"sft": {"max_length": 512}},
    }})
    data = tiny_run / "mixes/mix_long.jsonl"
    out = tmp_path / "m"
    train.main(["--params", str(params), "--base", str(tiny_model), "--data", str(data), "--out", str(out),
                "--metrics", str(tmp_path / "m.json"), "--work", str(tmp_path / "work"),
                "--student", "tiny", "--recipe", "mix_long", "--seed", "0"])
    s = read_json(tmp_path / "m.json")
    assert (s["learning_rate"], s["global_batch"], s["max_length"]) == (0.002, 4, 512)
    assert s["packing"] == "bfd" and s["padding_free"] and s["rows"] < s["examples"]
    train.main(["--params", str(params), "--base", str(tiny_model), "--data", str(tiny_run / "mixes/short.jsonl"),
                "--out", str(tmp_path / "s"), "--metrics", str(tmp_path / "s.json"), "--work", str(tmp_path / "work"),
                "--student", "tiny", "--recipe", "short", "--seed", "0"])
    s = read_json(tmp_path / "s.json")
    assert (s["learning_rate"], s["global_batch"], s["max_length"], s["packing"], s["rows"]) == (0.002, 4, 256, False, s["examples"])


def test_evaluate_gap_report(tmp_path, tiny_params, tiny_model, tiny_run):
    """Two training seeds for long (the trained adapter, and the untrained model standing in for a second seed),
    one for short (untrained: a pair for Δ_Long); a leftover file of a seed no longer in params is not read."""
    params = write_params(tmp_path, **{"train.seeds": [0, 1]})
    adapter = _train(tmp_path, params, tiny_model, tiny_run / "mixes/long.jsonl", "long")
    m = tmp_path / "metrics"
    runs = (("base", tiny_model), ("long-0", adapter), ("long-1", tiny_model), ("short-0", tiny_model), ("short-7", adapter),
            ("short", adapter))  # short-7 and short: a seed no longer in params and a file from before seeds
    for run_name, model in runs:
        evaluate.main(["--params", str(params), "--base", str(tiny_model), "--model", str(model),
                       "--benchmarks", str(tiny_run / "bench.jsonl"), "--predictions", str(tmp_path / f"pred/tiny-{run_name}.jsonl"),
                       "--metrics", str(m / f"eval/tiny-{run_name}.json")])
    ev = read_json(m / "eval/tiny-long-0.json")
    assert set(ev["accuracy"]) == {"chain_sum", "products", "average"} and ev["n"] == {"chain_sum": 4, "products": 3}
    preds = read_jsonl(tmp_path / "pred/tiny-long-0.jsonl")
    assert len(preds) == 7 and all(p["reason"] in {"correct", "no_answer", "parse_failure", "mismatch", "truncated"} for p in preds)
    assert all(p["response_tokens"] <= 16 for p in preds)
    gap.main(["--params", str(params), "--evals", str(m / "eval"), "--predictions", str(tmp_path / "pred"),
              "--benchmarks", str(tiny_run / "bench.jsonl"), "--out", str(m / "gap.json"), "--stats", str(m / "gap_stats.json"),
              "--audit", str(m / "audit.json")])
    g = read_json(m / "gap_stats.json")["tiny"]
    outcomes = read_json(m / "gap.json")["tiny"]  # the declared metrics: averages, differences and their CIs
    assert outcomes == {k: v for k, v in g.items() if (k.startswith("p_") and "_ci95_" not in k) or k.split("_ci95")[0] in
                        ("delta_long", "delta_large", "mix_long_gain", "mix_large_gain")}
    assert sorted(outcomes) == ["delta_long", "delta_long_ci95_high", "delta_long_ci95_low", "p_base", "p_long", "p_short"]
    audit = read_json(m / "audit.json")["tiny"]
    assert audit["graders"] == ["math_verify", "math_verify_own", "strict_boxed", "checker"] and audit["predictions"] == 28
    assert g["delta_long_checker"] == audit["statistics"]["delta_long"]["checker"]
    by_seed = [read_json(m / f"eval/tiny-long-{s}.json")["accuracy"] for s in (0, 1)]
    assert g["train_seeds"] == 2 and g["p_short"] == g["p_base"]  # short-7 and short are not read
    assert g["p_long"] == pytest.approx(sum((a[b] + c[b]) / 2 for a, c in [by_seed] for b in ("chain_sum", "products")) / 2, abs=0.02)
    assert g["delta_long"] == round(g["p_long"] - g["p_short"], 2)
    assert g["delta_long_ci95_low"] <= g["delta_long"] <= g["delta_long_ci95_high"]
    assert 0 <= g["delta_long_p_mcnemar"] <= 1 and g["delta_long_mde80"] >= 0
    for sub in ("teachers", "mixes"):
        (m / sub).mkdir(parents=True, exist_ok=True)
        for f in (tiny_run / "metrics" / sub).glob("*.json"):
            (m / sub / f.name).write_text(f.read_text())
    (m / "students").mkdir()
    (m / "students/tiny.json").write_text(json.dumps({"source": "random", "architecture": "LlamaForCausalLM", "parameters": 3_200_000}))
    report.main(["--params", str(params), "--metrics", str(m), "--predictions", str(tmp_path / "pred"),
                 "--out", str(tmp_path / "report.md"), "--plots", str(tmp_path / "plots")])
    md = (tmp_path / "report.md").read_text()
    assert "Synthetic teachers" in md and "| Long CoT |" in md and "Base (untrained)" in md
    assert "chain_sum (4), products (3)" in md
    ci = f"[{g['delta_long_ci95_low']:+.1f}, {g['delta_long_ci95_high']:+.1f}]"
    assert "### Grader audit (`tiny`)" in md and "| Δ_Long |" in md
    assert re.search(r"^\| Δ_Long = P_Long − P_Short \|.*\| " + re.escape(ci) + r" \| [0-9.e-]+ \| ±[0-9.]+ \|$", md, re.M), md
    assert "training seeds 0, 1" in md and re.search(r"^\| Long CoT \|.*\| [0-9.]+ \(2 seeds\) \|", md, re.M), md
    for png in ("forest.png", "recipes.png", "lengths.png"):
        assert (tmp_path / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    # the data of dvc.yaml's plots; every interval is the gap stage's own number, not a second computation
    forest = {r["statistic"]: r for r in read_json(tmp_path / "plots/gap.json")}
    long = forest["Δ_Long (Long CoT − Short CoT)"]
    assert (long["value"], long["ci95_low"], long["ci95_high"], long["checker"]) == (
        g["delta_long"], g["delta_long_ci95_low"], g["delta_long_ci95_high"], g["delta_long_checker"])
    avg = {r["recipe"]: r for r in read_json(tmp_path / "plots/recipe_average.json")}
    assert [r["recipe"] for r in sorted(avg.values(), key=lambda r: r["order"])][:3] == [
        "Base (untrained)", "Long CoT", "Short CoT"]  # the study's order
    assert (avg["Long CoT"]["accuracy"], avg["Long CoT"]["ci95_low"], avg["Long CoT"]["ci95_high"]) == pytest.approx(
        (g["p_long"], g["p_long_ci95_low"], g["p_long_ci95_high"]), abs=0.01)
    assert g["p_long_ci95_low"] <= g["p_long"] <= g["p_long_ci95_high"]
    bars = read_json(tmp_path / "plots/recipes.json")
    assert {(b["recipe"], b["benchmark"]) for b in bars} >= {("Long CoT", "chain_sum"), ("Base (untrained)", "products")}
    lengths = {r["recipe"]: r for r in read_json(tmp_path / "plots/lengths.json")}
    assert lengths["Long CoT"]["responses"] == 14 and 0 < lengths["Long CoT"]["mean_tokens"] <= 16  # 2 seeds x 7
    assert read_json(tmp_path / "plots/sweep_long.json") == read_json(tmp_path / "plots/sweep_large.json") == []


def test_sampled_evaluation_reports_pass_at_k_and_is_seeded(tmp_path, tiny_model, tiny_run):
    params = write_params(tmp_path, **{"evaluate.samples": 4, "evaluate.temperature": 1.0})

    def run(name):
        evaluate.main(["--params", str(params), "--base", str(tiny_model), "--model", str(tiny_model),
                       "--benchmarks", str(tiny_run / "bench.jsonl"), "--predictions", str(tmp_path / f"{name}.jsonl"),
                       "--metrics", str(tmp_path / f"{name}.json")])
        return read_jsonl(tmp_path / f"{name}.jsonl"), read_json(tmp_path / f"{name}.json")

    preds, m = run("a")
    assert len(preds) == 7 * 4 and sorted({p["sample"] for p in preds}) == [0, 1, 2, 3]
    assert m["samples"] == 4 and sorted(m["pass_at"]) == ["1", "2", "4"]
    assert m["pass_at"]["1"]["average"] == pytest.approx(m["accuracy"]["average"], abs=0.01)
    assert m["pass_at"]["1"]["average"] <= m["pass_at"]["2"]["average"] <= m["pass_at"]["4"]["average"]
    assert len({p["response"] for p in preds if p["problem_id"] == preds[0]["problem_id"]}) > 1  # really sampled
    assert run("b")[0] == preds  # same seed, same samples


def test_rank_shift_scores_generated_tokens_under_the_base_student(tiny_params, tiny_model):
    from mixdistill.analysis import rank_shift, top_shifts
    from mixdistill.backends.hf import load_model
    from mixdistill.config import load_config

    preds = [{"question": "1+1", "response": "Wait, let me check. 2"}, {"question": "2+2", "response": "Wait. 4"}]
    base = load_model(str(tiny_model))
    shifts = rank_shift(base, preds, load_config(tiny_params).prompt)
    assert rank_shift(base, preds, load_config(tiny_params).prompt) == shifts  # one load serves every recipe
    assert "Wait" in shifts and len(shifts["Wait"]) == 2
    assert all(isinstance(r, int) and 0 <= r < 49152 for v in shifts.values() for r in v)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    n_tokens = sum(len(tok(p["response"], add_special_tokens=False)["input_ids"]) for p in preds)
    assert sum(len(v) for v in shifts.values()) == n_tokens  # every response token is scored once
    assert top_shifts(shifts, k=3, min_count=2)[0]["token"] in {"Wait", "."}
