"""Existing teacher responses from a dataset: a local JSONL / JSON / Parquet file or a Hugging Face
dataset id (many published distillation sets hold long- or short-CoT responses).

    teachers.long: {backend: dataset, model: UWNSL/MATH_training_split_long_cot,
                    options: {question_column: problem, response_column: solution, split: train}}

Rows are matched to our problems by question text (whitespace-normalised); the k-th sample of a
problem takes the k-th matching row. Problems without a row get an empty response, graded as
'no_answer' and counted in the teacher's summary.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from ..hub import commit_key, pin
from ..io import read_table, text_key
from .base import GenRequest, GenResult, Sampling

log = logging.getLogger(__name__)


class DatasetBackend:
    def __init__(self, source: str, question_column: str = "question", response_column: str = "response",
                 split: str = "train", revision: str | None = None):
        self.source, self.split = source, split
        self.revision, self.hub = pin(source, revision, "dataset")  # a hub dataset: the commit read, provenance
        self.question_column, self.response_column = question_column, response_column
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def from_teacher(cls, cfg) -> "DatasetBackend":
        return cls(cfg.model, **cfg.options.model_dump(), revision=cfg.revision)

    def identity(self) -> dict:
        return {"dataset": self.source, "split": self.split, "question": self.question_column,
                "response": self.response_column, **commit_key(self.hub)}

    def describe(self) -> dict:
        return {"backend": "dataset", "model": self.source, **self.identity(), **self.hub}

    def rows(self) -> list[dict]:
        return read_table(self.source, (self.question_column, self.response_column), self.split,
                          hint=" (set options.question_column / options.response_column)", revision=self.revision)

    def _load(self) -> dict[str, list[str]]:
        if self._index is None:
            index: dict[str, list[str]] = defaultdict(list)
            for row in self.rows():
                index[text_key(row[self.question_column])].append(row[self.response_column])
            self._index = dict(index)
        return self._index

    def generate(self, requests: list[GenRequest], sampling: Sampling) -> list[GenResult]:
        index = self._load()
        out, missing = [], 0
        for r in requests:
            found = index.get(text_key(r.problem.get("question", "")), [])
            if r.sample < len(found):
                out.append(GenResult(found[r.sample], "stop", None))
            else:
                missing += 1
                out.append(GenResult("", "stop", None))
        if missing:
            log.warning("%s: no response for %d of %d requests", self.source, missing, len(requests))
        return out
