"""A torn or foreign generation-cache line never blocks a teacher: the teach stage reruns, reuses every valid entry
and generates only what was lost (the run log counts generated vs cached)."""

from __future__ import annotations

import json

from mixdistill.cache import GenerationCache, repair
from mixdistill.io import read_json
from stages import teach


def _teach(params, problems, d, cache):
    argv = ["--params", str(params), "--role", "long", "--problems", str(problems), "--out", str(d / "long.jsonl"),
            "--metrics", str(d / "long.json"), "--log", str(d / "log.json"), "--cache", str(cache)]
    assert teach.run(teach.main, argv) == 0
    return read_json(d / "log.json"), (d / "long.jsonl").read_bytes()


def test_a_torn_cache_file_leaves_the_teacher_rerunnable_with_every_valid_entry_reused(tmp_path, tiny_params, tiny_run,
                                                                                        caplog):
    cache = tmp_path / "cache"
    problems = tiny_run / "train.jsonl"
    n = sum(1 for _ in problems.open())
    first, out = _teach(tiny_params, problems, tmp_path, cache)
    assert first == {"generated": n, "cached": 0}
    (f,) = cache.glob("*.jsonl")
    lines = f.read_bytes().split(b"\n")[:-1]  # the header, then one entry per request
    assert len(lines) == n + 1
    keys = [json.loads(line)["key"] for line in lines[1:]]
    last = max(i for i, k in enumerate(keys, 1) if keys.count(k) == 1)  # the tiny set repeats a question: not that one
    lines.append(lines.pop(last))
    # a kill (or a full disk) cut the last entry inside a multi-byte character, with no newline after it; a foreign
    # line (valid JSON, not an object) and a line of bytes that are no UTF-8 sit in the middle
    torn = lines[-1][: lines[-1].index(b'"text"') + 12] + "⇒".encode()[:2]
    f.write_bytes(b"\n".join([*lines[:3], b"[1, 2]", b"\xff\xfe not utf-8", *lines[3:-1], torn]))
    with caplog.at_level("WARNING"):
        again, out2 = _teach(tiny_params, problems, tmp_path, cache)
    assert again == {"generated": 1, "cached": n - 1}
    assert out2 == out  # the same kept responses, byte for byte
    warned = [r.getMessage() for r in caplog.records if "no cache entry" in r.getMessage()]
    assert warned == [f"{f}: skipped 3 line(s) that hold no cache entry (line 4, 5, {n + 3}): cut by an interrupted "
                      f"write or not written by mixdistill; their requests are generated again, and the file is "
                      f"compacted to its {len(set(keys)) - 1} valid entries"]
    caplog.clear()
    with caplog.at_level("WARNING"):  # compacted: the next run reads it clean, and finds every entry
        third, _ = _teach(tiny_params, problems, tmp_path, cache)
    assert third == {"generated": 0, "cached": n} and not caplog.records
    assert all(json.loads(line) for line in f.read_text().splitlines())


def test_repair_keeps_every_valid_entry(tmp_path):
    c = GenerationCache(tmp_path, {"model": "m"})
    from mixdistill.backends.base import GenResult

    with c.writer() as put:
        for i in range(3):
            put(f"k{i}", GenResult(f"answer ⇒ {i}", "stop", 4))
    raw = c.path.read_bytes()
    c.path.write_bytes(raw + b'{"key": "k9", "text": 5, "finish_reason": "stop"}\n{"key": "k3", "te')
    assert repair(c.path) == (3, 2)
    assert GenerationCache(tmp_path, {"model": "m"}).entries == c.entries
    assert c.path.read_bytes() == raw


def test_repair_of_a_missing_file_names_it_and_still_repairs_the_rest(tmp_path, caplog):
    from mixdistill.cache import main

    c = GenerationCache(tmp_path, {"model": "m"})
    from mixdistill.backends.base import GenResult

    with c.writer() as put:
        put("k0", GenResult("7", "stop", 1))
    c.path.write_bytes(c.path.read_bytes() + b'{"key": "k1", "te')
    with caplog.at_level("INFO", logger="mixdistill.cache"):
        assert main(["repair", str(tmp_path / "nope.jsonl"), str(c.path)]) == 2
    assert f"{tmp_path / 'nope.jsonl'}: cannot repair: No such file or directory" in caplog.text
    assert f"{c.path}: kept 1 entries, dropped 1 line(s)" in caplog.text
