"""What the stages write, as files on disk: modes that follow the umask, and no secret in what they record."""

from __future__ import annotations

import os
import stat

from mixdistill.backends.openai import OpenAIBackend
from mixdistill.io import atomic_dir, write_json


def test_written_files_and_folders_follow_the_umask(tmp_path):
    old = os.umask(0o002)  # a lab's shared workspace: group-writable
    try:
        write_json(tmp_path / "m.json", {"a": 1})
        with atomic_dir(tmp_path / "model") as d:
            (d / "w.bin").write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o664  # was 0600 (mkstemp's), whatever the umask
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o775


def test_a_password_in_base_url_never_reaches_provenance_or_messages():
    b = OpenAIBackend("m", "http://me:s3cret@127.0.0.1:9/v1", max_retries=0, timeout=0.5)
    assert b.describe()["base_url"] == "http://***@127.0.0.1:9/v1"
    from mixdistill.backends import GenRequest, Sampling

    try:
        b.generate([GenRequest("k", ({"role": "user", "content": "hi"},), 0, {})], Sampling())
    except Exception as exc:  # nothing listens on port 9: the error names the server, without the password
        assert "s3cret" not in str(exc) and "http://***@127.0.0.1:9/v1/chat/completions" in str(exc)
    else:
        raise AssertionError("a request to a closed port succeeded")
