"""vLLM teacher path: runs only where CUDA and vllm are present (pip install -e '.[gpu]')."""

import pytest

from mixdistill.io import read_json, read_jsonl
from stages import teach

from ..conftest import write_params


@pytest.mark.gpu
def test_vllm_teacher_generates_graded_records(tmp_path, tiny_run, tiny_model):
    pytest.importorskip("vllm")
    params = write_params(tmp_path, **{"teachers.long": {
        "backend": "vllm", "model": str(tiny_model), "max_tokens": 16, "samples_per_problem": 2, "temperature": 0.8,
        "filter": "keep_all", "options": {"max_model_len": 512, "gpu_memory_utilization": 0.3, "enforce_eager": True}}})
    teach.main(["--params", str(params), "--role", "long", "--problems", str(tiny_run / "train.jsonl"),
                "--out", str(tmp_path / "long.jsonl"), "--metrics", str(tmp_path / "long.json"), "--cache", ""])
    s = read_json(tmp_path / "long.json")
    assert s["requests"] == 20 and s["provenance"]["backend"] == "vllm"
    records = read_jsonl(tmp_path / "long.jsonl")
    assert len(records) == 20 and all(0 < r["response_tokens"] <= 16 for r in records)


def test_vllm_backend_is_lazy_and_its_options_are_typed(tmp_path):
    import sys

    from mixdistill.backends.registry import get_backend
    from mixdistill.config import ConfigError, load_config

    cls = get_backend("vllm")  # importing the backend must not import vllm
    assert cls.name == "vllm" and "vllm" not in sys.modules
    bad = write_params(tmp_path, **{"teachers.long": {"backend": "vllm", "model": "some/model", "options": {"tp": 2}}})
    with pytest.raises(ConfigError, match="teachers.long.options.tp: not an engine argument of vLLM"):
        load_config(bad)
    good = load_config(write_params(tmp_path, **{"teachers.long": {
        "backend": "vllm", "model": "some/model", "options": {"tensor_parallel_size": 2, "enforce_eager": True}}}))
    backend = cls.from_teacher(good.teacher("long"))  # only the options set reach the engine
    assert backend.options == {"tensor_parallel_size": 2, "enforce_eager": True}
