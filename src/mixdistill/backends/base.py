"""What every backend takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0


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

    @property
    def unfinished(self) -> bool:
        return self.finish_reason in UNFINISHED
    tokens: int | None = None  # completion tokens, where the backend knows them


class Backend(Protocol):
    name: str

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]: ...

    def identity(self) -> dict: ...  # what decides outputs (model, ...), for the generation cache

    def describe(self) -> dict: ...  # provenance: identity plus transport details, never secrets
