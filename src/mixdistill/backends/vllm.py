"""In-process offline batch generation with vllm.LLM (GPU). Install with the `gpu` extra.

vllm is imported only when this backend is used. Each request gets its own sampling seed
(derived from the run seed and the request key), so outputs do not depend on batching.
"""

from __future__ import annotations

import zlib

from .base import GenRequest, GenResult, Sampling


class VLLMBackend:
    name = "vllm"

    def __init__(self, model: str, **options):
        """`options`: config.VLLMOptions, the engine arguments (and the chat template) set in params."""
        self.model, self.options = model, options
        self._llm = None

    @classmethod
    def from_teacher(cls, cfg) -> "VLLMBackend":
        return cls(cfg.model, **cfg.options.model_dump(exclude_none=True))

    @classmethod
    def for_eval(cls, cfg, base: str, model: str, work: str) -> "VLLMBackend":
        """Evaluation of `model` (a full model, or a LoRA adapter over `base`, merged once into `work`/<hash>/:
        vLLM loads full models)."""
        from .hf import adapter_of, merge_adapter

        adapter = adapter_of(model)
        path = merge_adapter(base, adapter, work) if adapter else model
        return cls(path, **cfg.options.model_dump(exclude_none=True))

    def identity(self) -> dict:
        return {"model": self.model}

    def describe(self) -> dict:
        return {"backend": "vllm", "model": self.model, "options": dict(self.options)}

    def _engine(self, seed: int):
        if self._llm is None:
            try:
                from vllm import LLM
            except ImportError as exc:
                raise ImportError("the vllm backend needs vLLM: pip install -e '.[gpu]' on a CUDA machine") from exc
            opts = {k: v for k, v in self.options.items() if k != "chat_template"}
            self._llm = LLM(model=self.model, seed=seed, **opts)
        return self._llm

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        from vllm import SamplingParams

        llm = self._engine(sampling.seed)
        params = [
            SamplingParams(
                temperature=sampling.temperature,
                top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
                max_tokens=sampling.max_tokens,
                seed=(sampling.seed * 1_000_003 + zlib.crc32(r.key.encode())) % (2**31),
            )
            for r in requests
        ]
        outputs = llm.chat([list(r.messages) for r in requests], sampling_params=params, use_tqdm=True,
                           chat_template=self.options.get("chat_template"))
        results = []
        for out in outputs:
            o = out.outputs[0]
            results.append(GenResult(o.text, "length" if o.finish_reason == "length" else "stop", len(o.token_ids)))
        return results
