"""What every backend takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from ..seeds import derive_seed


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0

    def request_seed(self, key: str) -> int:
        """One request's sampling seed, from the run seed and the request's key: what it samples does not depend on
        the batch or the order it runs in (vLLM takes it per request; transformers gives each row its own generator)."""
        return derive_seed(self.seed, key)


@dataclass(frozen=True)
class GenRequest:
    key: str  # stable id, e.g. "problem_id#sample"
    messages: tuple  # chat messages: ({"role": ..., "content": ...}, ...)
    sample: int = 0
    problem: dict = field(default_factory=dict, compare=False, hash=False)


UNFINISHED = ("length", "repetition")  # finish reasons of a response cut short (max tokens, or a greedy loop)


@dataclass(frozen=True)
class GenResult:
    text: str
    finish_reason: str  # "stop" | "length" (hit max tokens) | "repetition" (greedy loop, stopped early)
    tokens: int | None = None  # completion tokens, where the backend knows them
    reasoning: str | None = None  # a reasoning model's separate reasoning_content, where the server returns one

    @property
    def unfinished(self) -> bool:
        return self.finish_reason in UNFINISHED


class Backend(Protocol):
    name: str

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]: ...

    # Optional, for engines that schedule a whole workload themselves (vLLM, servers): yield (index into requests,
    # result) as each response finishes, so the generation cache saves it at once. Backends without it are
    # called chunk by chunk.
    # def stream(self, requests: list[GenRequest], sampling: Sampling) -> Iterator[tuple[int, GenResult]]: ...

    def identity(self) -> dict: ...  # what decides outputs (model, ...), for the generation cache

    def describe(self) -> dict: ...  # provenance: identity plus transport details, never secrets


def collect(stream: Iterable[tuple[int, GenResult]], total: int, desc: str) -> list[GenResult]:
    """`generate` of a streaming backend: its (index, result) pairs put back in request order, with a progress bar."""
    from tqdm.auto import tqdm

    results: list[GenResult | None] = [None] * total
    with tqdm(total=total, desc=desc, unit="req") as bar:
        for i, res in stream:
            results[i] = res
            bar.update(1)
    return results
