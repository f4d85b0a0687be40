"""In-process batched generation with Hugging Face transformers (CPU or GPU).

Used by transformers teachers and by evaluation. Prompts are sorted by length and
left-padded; greedy unless a temperature is set (then each row samples from its own generator, seeded per request
as on vLLM). Decoding is what the params say: the model's own generation_config keeps only its token ids.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..hub import commit_key, pin
from ..errors import DataError
from ..io import load_hf_model
from .base import GenRequest, GenResult, Sampling

log = logging.getLogger(__name__)


def load_model(path: str, adapter: str | None = None, trust_remote_code: bool = False, revision: str | None = None):
    """(model, tokenizer) from a local folder or hub id (at `revision`), with an optional PEFT adapter merged in."""
    import torch

    if not Path(path).exists() and (Path(path).is_absolute() or path.startswith(".")):
        raise FileNotFoundError(f"model folder {path} does not exist")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model, tok = load_hf_model(path, dtype, trust_remote_code, revision=revision)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    _params_decide_decoding(model, path)
    if device == "cpu" and model.config._attn_implementation == "sdpa":
        model.set_attn_implementation(_gqa_attention())
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    if not tok.chat_template:
        raise DataError(
            f"the tokenizer in {path} has no chat template; use an instruct model or add chat_template.jinja to that folder"
        )
    return model.to(device).eval(), tok


_TOKEN_IDS = ("bos_token_id", "eos_token_id", "pad_token_id")


def _params_decide_decoding(model, path: str) -> None:
    """Keep only the token ids of the model's generation_config. Its decoding settings (a repetition_penalty, top_k,
    no_repeat_ngram_size, sampling defaults...) would otherwise apply wherever params leave a setting unset, so the
    same params would decode differently here than on vLLM, whose LLM takes the SamplingParams it is given. Its
    cache_implementation goes too: the generation loop carries one growing DynamicCache from segment to segment
    (a static cache is sized to one generate call, and generate refuses a carried cache beside one)."""
    from transformers import GenerationConfig

    gc = model.generation_config
    defaults = gc._get_default_generation_params()
    dropped = sorted(k for k, v in gc.to_diff_dict().items() if k not in _TOKEN_IDS and v not in (None, False)
                     and v != defaults.get(k) and not k.startswith(("_", "transformers_")))
    if dropped:
        log.info("%s: generation_config sets %s; not used (decoding follows the params)", path, ", ".join(dropped))
    model.generation_config = GenerationConfig(**{k: getattr(gc, k) for k in _TOKEN_IDS})


GQA_SDPA = "mixdistill_sdpa_gqa"


def _gqa_attention() -> str:
    """The name of transformers' sdpa attention with grouped-query heads left to torch, registered.

    Under a padding mask (every left-padded batch) transformers' sdpa copies each cached key and value head once per
    query head it serves (`repeat_kv`) at every layer and decoding step. torch's `enable_gqa` reads the shared
    heads in the kernel. On CPU this makes evaluation about 12% faster with byte-identical responses
    (tests/integration/test_generation.py checks the identity). Not for training: its backward sums the key/value
    gradients in another order, so adapters would differ in the last bits. CUDA keeps transformers' sdpa: its
    fast kernels take no mask with GQA.
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(GQA_SDPA, _sdpa_gqa)  # registering again replaces it with itself
    AttentionMaskInterface.register(GQA_SDPA, sdpa_mask)
    return GQA_SDPA


def _sdpa_gqa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if (attention_mask is None or getattr(module, "num_key_value_groups", 1) == 1
            or any(kwargs.get(k) is not None for k in ("position_bias", "cache")) or kwargs.get("output_attentions")):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                                           dropout_p=dropout, scale=scaling, enable_gqa=True)
    return out.transpose(1, 2).contiguous(), None


def adapter_of(model: str) -> str | None:
    """`model` if it is a PEFT adapter folder, else None."""
    return model if (Path(model) / "adapter_config.json").exists() else None


class TransformersBackend:
    def __init__(self, model: str, adapter: str | None = None, batch_size: int = 8, trust_remote_code: bool = False,
                 revision: str | None = None):
        self.model_path, self.adapter, self.batch_size = model, adapter, batch_size
        self.trust_remote_code = trust_remote_code
        self.revision, self.hub = pin(model, revision)  # a hub id: the commit to load and its provenance
        self._model = self._tok = None

    @classmethod
    def from_teacher(cls, cfg) -> "TransformersBackend":
        return cls(cfg.model, cfg.options.adapter, cfg.batch_size, cfg.options.trust_remote_code, cfg.revision)

    @classmethod
    def for_eval(cls, cfg, base: str, model: str) -> "TransformersBackend":
        """Evaluation of `model`: a base folder, a full model, or a LoRA adapter over `base` (merged in memory)."""
        adapter = adapter_of(model)
        return cls(base if adapter else model, adapter, cfg.batch_size)

    def identity(self) -> dict:
        return {"model": self.model_path, "adapter": self.adapter, **commit_key(self.hub)}

    def describe(self) -> dict:
        return {"backend": "transformers", "model": self.model_path, "adapter": self.adapter, "batch_size": self.batch_size,
                **self.hub}

    def _load(self):
        if self._model is None:
            self._model, self._tok = load_model(self.model_path, self.adapter, self.trust_remote_code, self.revision)
        return self._model, self._tok

    def generate(self, requests: list[GenRequest], sampling: Sampling, progress: bool = True) -> list[GenResult]:
        """Batched generation in segments of `segment` tokens: after each segment the finished rows
        leave the batch, so one long response no longer keeps a whole batch decoding padding."""
        from tqdm.auto import tqdm

        model, tok = self._load()
        prompts = [tok.apply_chat_template(list(r.messages), tokenize=False, add_generation_prompt=True) for r in requests]
        prompt_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        limit = getattr(model.config, "max_position_embeddings", None)
        longest = max((len(ids) for ids in prompt_ids), default=0)
        if limit and longest + sampling.max_tokens > limit:  # refused before any decoding, not after a long batch
            raise DataError(f"{self.model_path}: the longest prompt ({longest} tokens) plus max_tokens "
                            f"{sampling.max_tokens} exceeds the model's context of {limit} tokens; lower the "
                            "teacher's max_tokens or evaluate.max_new_tokens")
        order = sorted(range(len(prompts)), key=lambda i: (-len(prompt_ids[i]), i))
        results: list[GenResult | None] = [None] * len(prompts)
        eos_ids = _eos_ids(model, tok)
        label = Path(self.adapter or self.model_path).name
        bar = tqdm(total=len(prompts), desc=f"generate ({label})", unit="req", disable=not progress)
        t0, n_tokens = time.time(), 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            seeds = [sampling.request_seed(requests[i].key) for i in idx]
            gen = self._generate_batch(model, tok, [prompt_ids[i] for i in idx], sampling, eos_ids, seeds)
            for i, (ids, finish) in zip(idx, gen):
                n_tokens += len(ids)
                results[i] = GenResult(tok.decode(ids, skip_special_tokens=True), finish, len(ids))
            bar.update(len(idx))
            bar.set_postfix(tok_s=f"{n_tokens / max(time.time() - t0, 1e-9):.0f}")
        bar.close()
        return results  # type: ignore[return-value]

    segment = 32

    def _generate_batch(self, model, tok, prompts: list[list[int]], sampling: Sampling, eos_ids: list[int],
                        seeds: list[int]):
        """[(new token ids, finish reason)] for one batch, decoding `segment` tokens at a time.

        The KV cache carries over from one segment to the next; after each segment the finished rows leave the
        batch and the cache, so one long response no longer keeps a whole batch decoding padding.
        finish is "stop" (end of sequence), "length" (max_tokens reached) or "repetition": the response
        ended in a loop of one unit repeated REPEATS times, which greedy decoding never leaves; it stops
        there instead of padding the batch to max_tokens (its final answer is already in the text).
        """
        import torch

        gen: list[list[int]] = [[] for _ in prompts]
        done: list[str | None] = [None] * len(prompts)
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for r, p in enumerate(prompts):  # left padding
            ids[r, width - len(p):] = torch.tensor(p)
            mask[r, width - len(p):] = 1
        ids, mask = ids.to(model.device), mask.to(model.device)
        active, cache, left = list(range(len(prompts))), None, sampling.max_tokens
        if sampling.temperature > 0:  # one random stream per request, on the model's device (no copy to the host)
            rngs = [torch.Generator(device=model.device).manual_seed(s) for s in seeds]
        while left > 0 and active:
            step = min(self.segment, left)
            kwargs = dict(max_new_tokens=step, pad_token_id=tok.pad_token_id, eos_token_id=eos_ids,
                          return_dict_in_generate=True, past_key_values=cache)
            # sampling picks each row's token in _RowSampler; generate then takes the only token left (no top-k
            # either way: params set none, and vLLM and OpenAI apply none; transformers' own default is 50)
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            if sampling.temperature > 0:
                kwargs["logits_processor"] = [_RowSampler([rngs[i] for i in active], sampling)]
            with torch.inference_mode():
                out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
            new = out.sequences[:, ids.shape[1]:]
            keep = []
            for r, (i, row) in enumerate(zip(active, new.tolist())):
                n = next((k for k, t in enumerate(row) if t in eos_ids), None)
                gen[i] += row if n is None else row[:n]
                if n is not None:
                    done[i] = "stop"
                elif sampling.temperature == 0 and looping(gen[i]):
                    done[i] = "repetition"
                else:
                    keep.append(r)
            ids, mask, cache = out.sequences, torch.cat([mask, torch.ones_like(new)], dim=1), out.past_key_values
            if len(keep) < len(active):  # finished rows leave the batch and the cache
                sel = torch.tensor(keep, dtype=torch.long, device=ids.device)
                ids, mask = ids[sel], mask[sel]
                try:
                    cache.batch_select_indices(sel)
                except (AttributeError, NotImplementedError):  # no cache, or one whose rows cannot be dropped
                    cache = None  # (hybrid models' linear-attention layers): the next segment encodes all so far again
            active = [active[r] for r in keep]
            left -= step
        return [(g, d or "length") for g, d in zip(gen, done)]


class _RowSampler:
    """A logits processor that samples each row's next token (temperature, then top-p) with that row's own
    generator and leaves only that token: a request's samples do not depend on the other rows of its batch."""

    def __init__(self, rngs: list, sampling: Sampling):
        self.rngs, self.temperature, self.top_p = rngs, sampling.temperature, sampling.top_p

    def __call__(self, input_ids, scores):
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1:  # the nucleus: the most likely tokens until their mass reaches top_p
            ranked, order = probs.sort(dim=-1, descending=True)
            ranked[ranked.cumsum(-1) - ranked >= self.top_p] = 0
            probs = torch.zeros_like(probs).scatter(-1, order, ranked)
        picks = torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, self.rngs)])
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(picks), device=scores.device), picks] = 0
        return out


REPEATS = 4


def looping(ids: list[int], max_unit: int = 48, repeats: int = REPEATS) -> bool:
    """Whether `ids` ends with one unit of 1..max_unit tokens repeated `repeats` times.

    >>> looping([5, 1, 2, 3] + [7, 8] * 4), looping([1, 2, 3, 4, 5, 6, 7, 8]), looping([9] * 3)
    (True, False, False)
    """
    for unit in range(1, max_unit + 1):
        span = unit * repeats
        if span > len(ids):
            break
        tail = ids[-span:]
        if tail == tail[:unit] * repeats:
            return True
    return False


def _eos_ids(model, tok) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:
        ids.append(tok.eos_token_id)
    return ids
