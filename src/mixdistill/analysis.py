"""Analyses of what trained students write (the paper, arXiv 2502.12143: the speaking-style shift and length).

- Speaking-style shift: score every token a trained student generated under the base student
  (teacher-forced on the same prompt) and rank tokens by how far their rank moved. The paper
  finds the most-shifted tokens are stylistic ("wait", "But", "Let"), not mathematical.
- Length and finishing: response tokens, share truncated, share without a final answer,
  accuracy by length bucket, and counts of reflective markers.
The length statistics are pure; only `rank_shift` touches a model.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

MARKERS = {"wait": r"\bwait\b", "alternatively": r"\balternatively\b", "let me check": r"\blet me (?:double-)?check\b",
           "verify": r"\bverif(?:y|ied|ication)\b", "hmm": r"\bhmm\b"}
BUCKETS = (0, 32, 64, 128, 256, 10**9)


def length_stats(predictions: list[dict]) -> dict:
    """Length, finishing and marker statistics of one recipe's predictions.

    >>> s = length_stats([{"response": "Wait, 2. \\\\boxed{2}", "response_tokens": 10, "reason": "correct", "correct": True,
    ...                    "finish_reason": "stop"},
    ...                   {"response": "hmm", "response_tokens": 300, "reason": "truncated", "correct": False,
    ...                    "finish_reason": "length"}])
    >>> s["unfinished_pct"], s["looped_pct"], s["no_answer_pct"], s["markers_per_100"]["wait"], s["accuracy_by_length"]["0-31"]
    (50.0, 0.0, 0.0, 50.0, {'n': 1, 'accuracy': 100.0})
    """
    n = len(predictions) or 1
    tokens = [p.get("response_tokens") or 0 for p in predictions]
    by_bucket: dict[str, list[bool]] = defaultdict(list)
    for p, t in zip(predictions, tokens):
        for lo, hi in zip(BUCKETS, BUCKETS[1:]):
            if lo <= t < hi:
                by_bucket[f"{lo}-{hi - 1}" if hi < 10**9 else f"{lo}+"].append(bool(p["correct"]))
    markers = {name: sum(bool(re.search(rx, p["response"], re.I)) for p in predictions) for name, rx in MARKERS.items()}
    return {
        "n": len(predictions),
        "response_tokens_mean": round(sum(tokens) / n, 1),
        "response_tokens_max": max(tokens, default=0),
        # did not finish: cut at max tokens, or stopped in a greedy loop (even if an answer was boxed before)
        "unfinished_pct": round(100 * sum(p.get("finish_reason") in ("length", "repetition") for p in predictions) / n, 2),
        "no_answer_pct": round(100 * sum(p["reason"] == "no_answer" for p in predictions) / n, 2),
        "looped_pct": round(100 * sum(p.get("finish_reason") == "repetition" for p in predictions) / n, 2),
        "accuracy_by_length": {b: {"n": len(v), "accuracy": round(100 * sum(v) / len(v), 1)} for b, v in by_bucket.items()},
        "markers_per_100": {k: round(100 * v / n, 1) for k, v in markers.items()},
    }


def top_shifts(per_token: dict[str, list[int]], k: int = 15, min_count: int = 3) -> list[dict]:
    """Tokens ranked by mean rank shift (base rank - 1), with counts.

    >>> top_shifts({"Wait": [40, 60, 50], "2": [0, 0, 1], "rare": [999]}, k=2)
    [{'token': 'Wait', 'count': 3, 'mean_rank_shift': 50.0}, {'token': '2', 'count': 3, 'mean_rank_shift': 0.33}]
    """
    rows = [{"token": t, "count": len(v), "mean_rank_shift": round(sum(v) / len(v), 2)}
            for t, v in per_token.items() if len(v) >= min_count]
    rows.sort(key=lambda r: (-r["mean_rank_shift"], -r["count"], r["token"]))
    return rows[:k]


def sample_responses(predictions: list[dict], k: int, seed: int) -> list[dict]:
    """A seeded sample of k predictions (all of them if fewer), in problem order."""
    ordered = sorted(predictions, key=lambda p: p["problem_id"])
    if len(ordered) <= k:
        return ordered
    keep = set(random.Random(seed).sample(range(len(ordered)), k))
    return [p for i, p in enumerate(ordered) if i in keep]


def rank_shift(base, predictions: list[dict], prompt, batch_size: int = 8) -> dict[str, list[int]]:
    """token text -> list of (rank under the base student - 1) for every generated token of `predictions`.

    `base` is the base student as (model, tokenizer) from backends.hf.load_model, loaded once for every recipe.
    The trained student decoded greedily, so each of its tokens was its own rank-1 choice; the shift is
    how far down the base student's ranking that token sat.
    """
    import torch

    from .prompts import build_messages

    model, tok = base
    shifts: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(predictions), batch_size):
        chunk = predictions[start : start + batch_size]
        prompts = [tok.apply_chat_template(list(build_messages(p["question"], prompt)), tokenize=False,
                                           add_generation_prompt=True) for p in chunk]
        p_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        r_ids = [tok(p["response"], add_special_tokens=False)["input_ids"] for p in chunk]
        seqs = [a + b for a, b in zip(p_ids, r_ids)]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tok.pad_token_id)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
        # logits only where a response token is predicted: the body runs on every position, the
        # vocabulary projection (49k rows for SmolLM2) only on those
        rows = [(i, len(a) + j - 1, t) for i, (a, b) in enumerate(zip(p_ids, r_ids)) for j, t in enumerate(b)]
        if not rows:
            continue
        with torch.inference_mode():
            hidden = model.get_decoder()(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).last_hidden_state
            picked = hidden[torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])]
            logits = model.get_output_embeddings()(picked).float().cpu()
        targets = torch.tensor([r[2] for r in rows])
        ranks = (logits > logits[torch.arange(len(rows)), targets].unsqueeze(1)).sum(1).tolist()
        for (_, _, token), rank in zip(rows, ranks):
            shifts[tok.decode([token]).strip() or repr(tok.decode([token]))].append(int(rank))
    return dict(shifts)
