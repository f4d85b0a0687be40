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



def test_the_models_generation_config_does_not_change_decoding(tiny_model, tmp_path):
    """Params decide decoding: a generation_config.json with a repetition penalty, an n-gram ban and sampling
    defaults of its own decodes exactly as the same model without them, greedy and sampled (vLLM's LLM, given
    SamplingParams, ignores them too). It also names a static cache, which cannot be carried from one segment to
    the next: sampled rows run all four segments of 4 tokens without leaving the batch."""
    import json
    import shutil

    tuned = tmp_path / "tuned"
    shutil.copytree(tiny_model, tuned)
    config = json.loads((tuned / "generation_config.json").read_text())
    config.update(repetition_penalty=1.5, no_repeat_ngram_size=2, do_sample=True, temperature=0.2, top_k=3,
                  cache_implementation="static")
    (tuned / "generation_config.json").write_text(json.dumps(config))
    requests = [GenRequest(key=str(i), messages=({"role": "user", "content": q},))
                for i, q in enumerate(("What is 2 + 3?", "Name a prime.", "9 - 4 = ?"))]
    for sampling in (Sampling(max_tokens=16, temperature=0.0, top_p=1.0, seed=0),
                     Sampling(max_tokens=16, temperature=1.0, top_p=0.9, seed=3)):
        plain, other = TransformersBackend(str(tiny_model), batch_size=3), TransformersBackend(str(tuned), batch_size=3)
        plain.segment = other.segment = 4
        a, b = plain.generate(requests, sampling, progress=False), other.generate(requests, sampling, progress=False)
        assert [(r.text, r.tokens) for r in b] == [(r.text, r.tokens) for r in a], sampling
    assert [r.tokens for r in a] == [16, 16, 16]  # the sampled run: four segments, each carrying the cache


def test_sampling_applies_no_top_k(tiny_model):
    """Params have temperature and top_p only, and vLLM and OpenAI servers apply no top-k: neither may transformers,
    whose default top_k is 50. The tiny random model spreads its probability over the whole vocabulary, so 48
    samples at temperature 1 fall beyond the 50 most likely tokens (with a top-k of 50, none of them could)."""
    from mixdistill.backends.hf import _eos_ids

    backend = TransformersBackend(str(tiny_model), batch_size=3)
    model, tok = backend._load()
    prompts = [tok(tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"] for q in ("What is 2 + 3?", "Name a prime.", "9 - 4 = ?")]
    sampled = backend._generate_batch(model, tok, prompts, Sampling(max_tokens=16, temperature=1.0, top_p=1.0, seed=0),
                                      _eos_ids(model, tok), [1, 2, 3])
    ranks = []
    for prompt, (ids, _) in zip(prompts, sampled):
        with torch.inference_mode():
            logits = model(torch.tensor([prompt + ids])).logits[0, len(prompt) - 1:-1]
        ranks += [int((row > row[t]).sum()) for row, t in zip(logits, ids)]  # how many tokens were more likely
    assert len(ranks) == 48 and max(ranks) >= 50, sorted(ranks)


def test_a_sampled_request_does_not_depend_on_its_batch(tiny_model):
    """Sampling is seeded per request, as on vLLM: a request samples the same tokens in a batch of five or alone
    (as when a teacher rerun with more problems generates only the new ones, in batches of their own)."""
    requests = [GenRequest(key=f"p{i}#0", messages=({"role": "user", "content": q},)) for i, q in enumerate(
                ("What is 2 + 3?", "Name a prime.", "9 - 4 = ?", "Compute 17 * 23 - 5.", "Say hello."))]
    sampling = Sampling(max_tokens=16, temperature=1.0, top_p=0.9, seed=7)
    together = TransformersBackend(str(tiny_model), batch_size=5).generate(requests, sampling, progress=False)
    one = TransformersBackend(str(tiny_model), batch_size=1)
    alone = [one.generate([r], sampling, progress=False)[0] for r in reversed(requests)][::-1]
    assert [r.text for r in alone] == [r.text for r in together]
    reseeded = one.generate(requests, Sampling(max_tokens=16, temperature=1.0, top_p=0.9, seed=8), progress=False)
    assert [r.text for r in reseeded] != [r.text for r in together]  # the run seed still decides
