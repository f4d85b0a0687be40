"""In-process generation (backends/hf.py) on the tiny student: the attention it switches to gives the same numbers."""

from __future__ import annotations

import torch

from mixdistill.backends.base import GenRequest, Sampling
from mixdistill.backends.hf import GQA_SDPA, TransformersBackend, load_model


def _left_padded(tok, texts):
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    assert (batch["attention_mask"] == 0).any()  # the padding mask is what sends transformers' sdpa to repeat_kv
    return batch


def test_gqa_attention_is_used_on_cpu_and_equals_transformers_sdpa(tiny_model):
    model, tok = load_model(str(tiny_model))
    assert model.config._attn_implementation == GQA_SDPA
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # grouped-query: the path under test
    batch = _left_padded(tok, ["What is 2 + 3?", "A much longer question: what is 17 times 23, minus 5?", "Hi"])
    with torch.inference_mode():
        ours = model(**batch).logits
        model.set_attn_implementation("sdpa")
        theirs = model(**batch).logits
    assert torch.equal(ours, theirs)


def test_greedy_generation_is_the_same_under_either_attention(tiny_model):
    """The whole segmented, cache-carrying loop: identical tokens with the GQA attention and with plain sdpa."""
    requests = [GenRequest(key=str(i), messages=({"role": "user", "content": q},)) for i, q in enumerate(
                ("What is 2 + 3?", "Compute 17 * 23 - 5, step by step.", "Name a prime.", "9 - 4 = ?"))]
    sampling = Sampling(max_tokens=40, temperature=0.0, top_p=1.0, seed=0)
    ours = TransformersBackend(str(tiny_model), batch_size=4)
    theirs = TransformersBackend(str(tiny_model), batch_size=4)
    theirs._load()[0].set_attn_implementation("sdpa")
    a, b = ours.generate(requests, sampling, progress=False), theirs.generate(requests, sampling, progress=False)
    assert ours._load()[0].config._attn_implementation == GQA_SDPA
    assert [r.tokens for r in a] == [r.tokens for r in b] and all(r.tokens > 0 for r in a)
    assert [r.text for r in a] == [r.text for r in b]
