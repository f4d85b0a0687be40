"""Teacher generation speed, one run, same prompts: raw vLLM `LLM.chat`, the teach stage's path on vLLM (generation
cache, grading, writing the records) and transformers `generate`.

    python scripts/bench_teachers.py [--model models/smollm2_135m/base] [--problems 64] [--tokens 192]

Prompts: the default params' benchmark problems, then its training problems (built with the same seeds as the
problems stage) in the paper's prompt; greedy, up to --tokens new tokens. vLLM runs on CPU with `make install-vllm` (float32, eager, 2 GiB of KV
cache). The pipeline shares the raw run's engine, so both rows time generation alone; the engine's start is printed
apart. Also: a rerun after adding 10% more problems through the generation cache, as a share of the first run.
Needs the base student folder (`dvc repro student@smollm2_135m`, or any model folder given with --model).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_stages import bare_generate  # scripts/ is on the path when a script here runs


def _problems(n: int) -> list[dict]:
    """The first n of the default's benchmark problems followed by its training problems (124 in all)."""
    from mixdistill.config import load_config
    from mixdistill.problems import build_benchmarks, build_train

    cfg = load_config("params.yaml")
    train = build_train(cfg.problems.train, cfg.seed)
    pool = build_benchmarks(cfg.problems.benchmarks, cfg.seed, train) + train
    if n > len(pool):
        raise SystemExit(f"--problems {n}: the default params have {len(pool)} problems")
    return pool[:n]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="models/smollm2_135m/base")
    p.add_argument("--problems", type=int, default=64)
    p.add_argument("--tokens", type=int, default=192)
    p.add_argument("--batch", type=int, default=64, help="transformers batch size")
    args = p.parse_args(argv)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    if not Path(args.model, "config.json").exists():
        raise SystemExit(f"{args.model}: no model folder; run: dvc repro student@smollm2_135m (or pass --model DIR)")

    from mixdistill.backends.vllm import VLLMBackend
    from mixdistill.config import VLLMTeacher, paper_prompt
    from mixdistill.io import write_jsonl
    from mixdistill.prompts import build_messages
    from mixdistill.teachers import teach

    problems = _problems(args.problems)
    prompt = paper_prompt()
    messages = [list(build_messages(q["question"], prompt)) for q in problems]
    rows = []

    _, tokens, dt = bare_generate(args.model, None, messages, args.tokens, args.batch, count_eos=True)
    rows.append((f"transformers generate, batch {args.batch}", tokens, dt))

    from vllm import LLM, SamplingParams

    engine = {"dtype": "float32", "enforce_eager": True, "max_model_len": 2048}
    t = time.time()
    llm = LLM(model=args.model, seed=0, **engine)
    start = time.time() - t
    t = time.time()
    outs = llm.chat(messages, SamplingParams(temperature=0.0, max_tokens=args.tokens), use_tqdm=False)
    rows.append(("vLLM LLM.chat (raw)", sum(len(o.outputs[0].token_ids) for o in outs), time.time() - t))

    cfg = VLLMTeacher(backend="vllm", model=args.model, max_tokens=args.tokens, filter="keep_all", options=engine)
    backend = VLLMBackend.from_teacher(cfg)
    backend._llm = llm  # the engine started above: this row times the pipeline's generation path, not a second start
    with tempfile.TemporaryDirectory() as tmp:
        t = time.time()
        records, summary = teach("long", cfg, problems, prompt, 0, backend=backend, cache_dir=tmp)
        write_jsonl(Path(tmp) / "long.jsonl", records)
        dt = time.time() - t
        rows.append(("teach stage path on vLLM (cache, grading, writing)", sum(r["response_tokens"] for r in records), dt))
        more = _problems(args.problems + max(args.problems // 10, 1))
        t = time.time()
        _, again = teach("long", cfg, more, prompt, 0, backend=backend, cache_dir=tmp)
        rerun = time.time() - t

    raw = rows[1][1] / rows[1][2]
    print(f"\n{len(problems)} problems, greedy, up to {args.tokens} new tokens; model {args.model}")
    print("\n| path | tokens | seconds | tok/s | vs raw vLLM |\n|---|---|---|---|---|")
    for name, tokens, dt in rows:
        print(f"| {name} | {tokens:,} | {dt:.1f} | {tokens / dt:.1f} | {tokens / dt / raw:.2f}x |")
    print(f"\nvLLM engine start: {start:.1f} s")
    print(f"rerun after +10% problems: {again['run']['generated']} generated, {again['run']['cached']} cached, "
          f"{rerun:.1f} s = {100 * rerun / rows[2][2]:.0f}% of the first run")
    return 0


if __name__ == "__main__":  # vLLM starts its workers with spawn
    raise SystemExit(main())
