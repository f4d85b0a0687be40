"""Each stage beside the raw library doing the same work: one run, same inputs, ratios printed.

    python scripts/bench_stages.py [--student smollm2_135m] [--recipe long] [--only eval,train,teach]

- evaluate: the evaluate stage's path (backend from the registry, generation, math-verify grading) on the params'
  benchmark problems, against a bare `model.generate` loop over the same prompts at the same batch size
  (left-padded, greedy, evaluate.max_new_tokens, the eos ends a row), on the trained RECIPE model (adapter merged).
- train: mixdistill's train() against plain TRL SFTTrainer + PEFT on the same rows (data/mixes/RECIPE.jsonl) with
  the same SFTConfig and LoRA settings.
- teach: the teach stage's path (generation cache, grading, filtering) with a transformers teacher (the base
  student) against the same bare generate loop, on the params' training problems; then a rerun with 10% more
  problems through the generation cache, as a share of the first run (medians of --reruns fresh-cache pairs).

The ratio is the raw library's seconds over ours for the same work (>= 1.0: we are as fast). Token counts are
response tokens without the eos; ours can be lower where a greedy loop was stopped early (finish "repetition").
Both sides run in this one process, with the stages' malloc setting (--malloc stage, the default) or glibc's own
(--malloc default). Needs the outputs of `dvc repro` (models/, data/); run it on a quiet machine: wall-clock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def bare_generate(model_dir: str, adapter: str | None, messages: list, max_tokens: int, batch: int,
                  count_eos: bool = False):
    """Plain transformers: left-padded batches in the given order, greedy; returns (texts, tokens, seconds).
    count_eos: count the end-of-sequence token that stopped a row, as vLLM does (scripts/bench_teachers.py)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    texts = [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos]) | {tok.eos_token_id}
    out_texts, tokens, t = [], 0, time.time()
    for i in range(0, len(texts), batch):
        enc = tok(texts[i:i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, temperature=None, top_p=None,
                                 top_k=None, pad_token_id=tok.pad_token_id)
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            n = next((j for j, x in enumerate(row) if x in eos), len(row))
            tokens += n + (count_eos and n < len(row))
            out_texts.append(tok.decode(row[:n], skip_special_tokens=True))
    return out_texts, tokens, time.time() - t


def bare_train(base: str, records: list[dict], cfg, prompt, seed: int, work: str):
    """Plain TRL SFTTrainer with PEFT's LoraConfig: (tokens, seconds of trainer.train())."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from mixdistill.train import lora_config, sft_config, to_dataset

    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    trainer = SFTTrainer(model=model, args=sft_config(cfg, seed, work), train_dataset=to_dataset(records, prompt),
                         processing_class=tok,
                         peft_config=lora_config(cfg, model.config.num_hidden_layers) if cfg.method == "lora" else None)
    tokens = sum(len(x) for x in trainer.train_dataset["input_ids"]) * trainer.args.num_train_epochs
    t = time.time()
    trainer.train()
    return tokens, time.time() - t


def same(ours: list[str], raw: list[str]) -> int:
    """How many of our responses equal the raw one, or are its start (a loop stopped early)."""
    return sum(o == r or (o and r.startswith(o)) for o, r in zip(ours, raw))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--student", default="smollm2_135m")
    p.add_argument("--recipe", default="long")
    p.add_argument("--seed", type=int, default=0, help="training seed of the evaluated model")
    p.add_argument("--only", default="eval,train,teach")
    p.add_argument("--reruns", type=int, default=3,
                   help="teach: measure the first run and the +10%% rerun this many times (fresh cache each), "
                        "report medians")
    p.add_argument("--malloc", choices=("stage", "default"), default="stage",
                   help="stage: keep freed memory as every stage does (stages/_common.py); default: glibc's own")
    args = p.parse_args(argv)
    if args.malloc == "stage":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root: stages/
        from stages._common import keep_freed_memory

        keep_freed_memory()

    from mixdistill.config import TransformersTeacher, load_config
    from mixdistill.evaluate import evaluate, make_backend
    from mixdistill.io import read_jsonl
    from mixdistill.problems import build_train
    from mixdistill.prompts import build_messages
    from mixdistill.teachers import make_backend as teacher_backend
    from mixdistill.teachers import teach
    from mixdistill.train import train

    cfg = load_config(args.params)
    base = f"models/{args.student}/base"
    model = f"models/{args.student}/{args.recipe}-{args.seed}"
    for path in (base, model, f"data/mixes/{args.recipe}.jsonl", "data/problems/benchmarks.jsonl"):
        if not Path(path).exists():
            raise SystemExit(f"{path} is missing: run `dvc repro` (or `dvc pull`) first")
    only = set(args.only.split(","))
    rows = []  # (stage, work, ours: (tokens, seconds), raw: (tokens, seconds), note)

    if "eval" in only:
        ev = cfg.evaluate
        bench = read_jsonl("data/problems/benchmarks.jsonl")
        messages = [list(build_messages(q["question"], cfg.prompt)) for q in bench]
        raw_texts, raw_tokens, raw_s = bare_generate(base, model, messages, ev.max_new_tokens, ev.batch_size)
        backend = make_backend(ev, base, model)
        backend._load()  # model loading is outside both timings
        t = time.time()
        preds, _ = evaluate(backend, bench, ev, cfg.prompt, cfg.seed)
        ours_s = time.time() - t
        rows.append(("evaluate", f"{len(bench)} problems, batch {ev.batch_size}, <= {ev.max_new_tokens} tokens, {model}",
                     (sum(r["response_tokens"] for r in preds), ours_s), (raw_tokens, raw_s),
                     f"{same([r['response'] for r in preds], raw_texts)}/{len(bench)} responses as raw"))

    if "train" in only:
        records = read_jsonl(f"data/mixes/{args.recipe}.jsonl")
        tcfg = cfg.train_for(args.student, args.recipe)
        with tempfile.TemporaryDirectory() as tmp:
            raw_tokens, raw_s = bare_train(base, records, tcfg, cfg.prompt, args.seed, f"{tmp}/bare")
            t = time.time()
            ours = train(base, records, tcfg, cfg.prompt, args.seed, f"{tmp}/out", f"{tmp}/live", f"{tmp}/work")
            total = time.time() - t
        rows.append(("train", f"{len(records)} rows of data/mixes/{args.recipe}.jsonl, {tcfg.method}",
                     (ours["train_tokens"], ours["run"]["seconds"]), (raw_tokens, raw_s),
                     f"trainer.train() timed in both; ours {total:.1f} s with model load and save"))

    if "teach" in only:
        problems = build_train(cfg.problems.train, cfg.seed)
        teacher = TransformersTeacher(backend="transformers", model=base, max_tokens=cfg.evaluate.max_new_tokens,
                                      batch_size=cfg.evaluate.batch_size, filter="keep_all")
        messages = [list(build_messages(q["question"], cfg.prompt)) for q in problems]
        raw_texts, raw_tokens, raw_s = bare_generate(base, None, messages, teacher.max_tokens, teacher.batch_size)
        backend = teacher_backend(teacher)
        backend._load()
        # 10% more problems: each source's count up by a tenth (its first problems stay the same)
        more = build_train([s.model_copy(update={"count": s.count + max(s.count // 10, 1)}) for s in cfg.problems.train],
                           cfg.seed)
        firsts, reruns = [], []
        for _ in range(max(args.reruns, 1)):  # wall-clock on a noisy machine: medians of fresh-cache pairs
            with tempfile.TemporaryDirectory() as tmp:
                t = time.time()
                records, _ = teach("long", teacher, problems, cfg.prompt, cfg.seed, backend=backend, cache_dir=tmp)
                firsts.append(time.time() - t)
                t = time.time()
                _, again = teach("long", teacher, more, cfg.prompt, cfg.seed, backend=backend, cache_dir=tmp)
                reruns.append(time.time() - t)
        ours_s, rerun_s = statistics.median(firsts), statistics.median(reruns)
        shares = sorted(100 * r / f for f, r in zip(firsts, reruns))
        by_id = {r["problem_id"]: r["response"] for r in records}
        rows.append(("teach", f"{len(problems)} training problems, transformers teacher {base}, batch "
                     f"{teacher.batch_size}", (sum(r["response_tokens"] for r in records), ours_s), (raw_tokens, raw_s),
                     f"{same([by_id.get(q['problem_id'], '') for q in problems], raw_texts)}/{len(problems)} responses "
                     f"as raw; rerun with {len(more) - len(problems)} more problems: {again['run']['generated']} "
                     f"generated, {rerun_s:.1f} s = {100 * rerun_s / ours_s:.1f}% of the first run (medians of "
                     f"{len(firsts)} pairs; per pair {shares[0]:.1f}-{shares[-1]:.1f}%)"))

    print("\n| stage | work | ours: tokens, s | raw library: tokens, s | ours vs raw (raw s / ours s) | |\n"
          "|---|---|---|---|---|---|")
    for stage, work, (ot, os_), (rt, rs), note in rows:
        print(f"| {stage} | {work} | {ot:,}, {os_:.1f} | {rt:,}, {rs:.1f} | **{rs / os_:.2f}x** | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
