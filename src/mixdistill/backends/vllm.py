"""In-process generation with vLLM (`pip install -e '.[gpu]'` on CUDA, `make install-vllm` for the CPU build).

vllm is imported only when this backend is used. Each request gets its own sampling seed (derived from the run
seed and the request key), so outputs do not depend on batching. The whole workload goes to the engine at once
(its scheduler batches it) and `stream` hands back each response as it finishes. A LoRA student is served as an
adapter over its base model (`enable_lora` + `LoRARequest`), never merged.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..hub import commit_key, pin
from .base import GenRequest, GenResult, Sampling, collect

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the values vLLM's max_lora_rank accepts


def _cpu_build() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def cpu_binding(cores: list[int], workers: int) -> str:
    """VLLM_CPU_OMP_THREADS_BIND for `workers` CPU workers (tensor/pipeline parallel on vLLM's CPU build): the cores
    split into contiguous groups. vLLM binds one worker per NUMA node by itself and refuses more workers than nodes.

    >>> cpu_binding([0, 1], 2), cpu_binding(list(range(16)), 2), cpu_binding([0, 1, 2], 2), cpu_binding([0, 2, 4, 6], 2)
    ('0|1', '0-7|8-15', '0|1-2', '0,2|4,6')
    """
    if len(cores) < workers:
        raise ValueError(f"tensor_parallel_size x pipeline_parallel_size = {workers} CPU workers need as many cores; "
                         f"this process may use {len(cores)}")
    groups = [cores[len(cores) * i // workers: len(cores) * (i + 1) // workers] for i in range(workers)]
    return "|".join(f"{g[0]}-{g[-1]}" if len(g) > 1 and g[-1] - g[0] == len(g) - 1 else ",".join(map(str, g))
                    for g in groups)


@contextmanager
def _cpu_defaults(workers: int):
    """On vLLM's CPU build, while the engine is built (vLLM reads these then), unless the user set them: more than one
    worker gets a core binding (cpu_binding); one worker gets its engine core in this process, since spawning it
    re-imports vLLM (an engine start here: 32 s spawned, 12 s in process, the same outputs). GPU runs keep vLLM's
    defaults."""
    key = "VLLM_CPU_OMP_THREADS_BIND" if workers > 1 else "VLLM_ENABLE_V1_MULTIPROCESSING"
    env = {}
    if key not in os.environ and _cpu_build():  # a binding the user set is never second-guessed
        env[key] = cpu_binding(sorted(os.sched_getaffinity(0)), workers) if workers > 1 else "0"
    os.environ.update(env)
    try:
        yield
    finally:
        for k in env:
            os.environ.pop(k, None)


class VLLMBackend:
    def __init__(self, model: str, adapter: str | None = None, revision: str | None = None, **options):
        """`options`: config.VLLMOptions, vLLM's engine arguments (and the chat template) as set in params.
        `adapter`: a PEFT LoRA folder applied to `model` through LoRARequest. `revision`: of a hub id; the engine
        loads the commit it resolves to (hub.pin)."""
        self.model, self.adapter = model, adapter
        commit, self.hub = pin(model, revision)
        self.options = {**options, **({"revision": commit, "tokenizer_revision": commit} if commit else {})}
        if adapter:
            rank = json.loads((Path(adapter) / "adapter_config.json").read_text())["r"]
            self.options = {"enable_lora": True, "max_loras": 1,
                            "max_lora_rank": min(r for r in LORA_RANKS if r >= rank), **self.options}
        self._llm = None

    @classmethod
    def from_teacher(cls, cfg) -> "VLLMBackend":
        return cls(cfg.model, revision=cfg.revision, **cfg.options.model_dump(exclude_none=True))

    @classmethod
    def for_eval(cls, cfg, base: str, model: str) -> "VLLMBackend":
        """Evaluation of `model`: a full model folder, or a LoRA adapter folder served over `base`."""
        from .hf import adapter_of

        adapter = adapter_of(model)
        return cls(base if adapter else model, adapter, **cfg.options.model_dump(exclude_none=True))

    def identity(self) -> dict:
        return {"model": self.model, **({"adapter": self.adapter} if self.adapter else {}),
                **commit_key(self.hub)}

    def describe(self) -> dict:
        return {"backend": "vllm", **self.identity(), **self.hub, "options": dict(self.options)}

    def _engine(self, seed: int):
        if self._llm is None:
            try:
                from vllm import LLM
            except ImportError as exc:
                raise ImportError("the vllm backend needs vLLM: pip install -e '.[gpu]' on a CUDA machine, "
                                  "or make install-vllm for the CPU build") from exc
            opts = {k: v for k, v in self.options.items() if k != "chat_template"}
            workers = opts.get("tensor_parallel_size", 1) * opts.get("pipeline_parallel_size", 1)
            with _cpu_defaults(workers):
                self._llm = LLM(model=self.model, seed=seed, **opts)
        return self._llm

    def _params(self, requests: list[GenRequest], sampling: Sampling) -> list:
        from vllm import SamplingParams

        return [SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
            max_tokens=sampling.max_tokens,
            seed=sampling.request_seed(r.key),
        ) for r in requests]

    def stream(self, requests: list[GenRequest], sampling: Sampling) -> Iterator[tuple[int, GenResult]]:
        """Every request queued in one go; yields (index, result) in the order responses finish."""
        if not requests:
            return
        llm = self._engine(sampling.seed)
        lora = None
        if self.adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("student", 1, str(Path(self.adapter).resolve()))
        ids = llm.enqueue_chat([list(r.messages) for r in requests], self._params(requests, sampling),
                               use_tqdm=False, lora_request=lora, chat_template=self.options.get("chat_template"))
        # outputs carry the request's external id: what enqueue_chat returns, less the "-<random>" vLLM appends
        index = {rid.rsplit("-", 1)[0]: i for i, rid in enumerate(ids)}
        if len(index) != len(ids):
            index = {rid: i for i, rid in enumerate(ids)}
        engine = llm.llm_engine
        try:
            while index:
                if not engine.has_unfinished_requests():
                    raise RuntimeError(f"vLLM stopped with {len(index)} of {len(requests)} requests unanswered")
                for out in engine.step():
                    if out.finished and out.request_id in index:
                        o = out.outputs[0]
                        reason = "length" if o.finish_reason == "length" else "stop"
                        yield index.pop(out.request_id), GenResult(o.text, reason, len(o.token_ids))
        finally:
            if index:  # stopped early (an error, or the caller gave up): nothing of this call stays queued
                engine.abort_request([ids[i] for i in index.values()], internal=True)

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        return collect(self.stream(requests, sampling), len(requests), f"vllm {Path(self.model).name}")
