"""Experiments beyond one param: a teacher change, a new training seed, and the run shared through an S3 remote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import RECIPES, ran as _ran, sh as _sh


def test_one_teacher_change_reruns_only_its_descendants(repo):
    ran = _ran(_sh(repo, "dvc", "exp", "run", "-S", "teachers.small.error_rate=0.5"))
    assert "teach@small" in ran
    untouched = {"problems", "student@tiny", "teach@long", "teach@short", "teach@large",
                 "mix@long", "mix@short", "mix@mix_long", "train@tiny-long-0", "train@tiny-short-0",
                 "train@tiny-mix_long-0", "evaluate_base@tiny", "evaluate@tiny-long-0"}
    assert not ran & untouched, ran & untouched
    assert ran <= {"teach@small", "mix@large", "mix@small", "mix@mix_large", "train@tiny-large-0", "train@tiny-small-0",
                   "train@tiny-mix_large-0", "evaluate@tiny-large-0", "evaluate@tiny-small-0", "evaluate@tiny-mix_large-0",
                   "analyze@tiny", "gap", "report"}


def test_adding_a_training_seed_runs_only_the_new_seed(repo):
    """train.seeds [0] -> [0, 1]: the six trainings and evaluations of seed 1, then gap and report (which read every
    seed); nothing of seed 0, no teacher or mix, and analyze (first seed only) stay as they are."""
    ran = _ran(_sh(repo, "dvc", "exp", "run", "-S", "train.seeds=[0,1]"))
    assert ran == {f"train@tiny-{r}-1" for r in RECIPES} | {f"evaluate@tiny-{r}-1" for r in RECIPES} | {"gap", "report"}
    gap = json.loads((repo / "metrics/gap_stats.json").read_text())["tiny"]
    assert gap["train_seeds"] == 2
    assert "training seeds 0, 1" in (repo / "report.md").read_text()


def test_s3_remote_push_pull_then_nothing_to_run(repo, tmp_path):
    """A real S3-compatible server (moto) on 127.0.0.1: push outputs and run-cache, clone, pull, repro runs nothing."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(f"{endpoint}/mixdistill-cache", method="PUT")  # create the bucket
        urllib.request.urlopen(req, timeout=10)

        def remote(where):
            _sh(where, "dvc", "remote", "modify", "--local", "shared", "access_key_id", "testing")
            _sh(where, "dvc", "remote", "modify", "--local", "shared", "secret_access_key", "testing")

        _sh(repo, "git", "reset", "-q", "--hard")  # back to the committed baseline run
        _sh(repo, "dvc", "checkout", "-f")
        _sh(repo, "dvc", "remote", "add", "-d", "shared", "s3://mixdistill-cache/dvc")
        _sh(repo, "dvc", "remote", "modify", "shared", "endpointurl", endpoint)
        remote(repo)
        _sh(repo, "git", "add", ".dvc/config")
        _sh(repo, "git", "commit", "-qm", "shared S3 remote")
        assert "testing" not in (repo / ".dvc" / "config").read_text()  # credentials stay in config.local
        _sh(repo, "dvc", "push", "--run-cache")

        clone = tmp_path / "clone"
        _sh(tmp_path, "git", "clone", "-q", str(repo), str(clone))
        remote(clone)
        _sh(clone, "dvc", "pull", "--run-cache")
        out = _sh(clone, "dvc", "repro")
        assert _ran(out) == set(), _ran(out)
        assert (clone / "models" / "tiny" / "mix_long-0" / "adapter_model.safetensors").exists()
        assert "up to date" in _sh(clone, "dvc", "status")
    finally:
        server.terminate()
        server.wait(timeout=30)


