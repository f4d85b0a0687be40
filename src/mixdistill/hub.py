"""Hugging Face hub revisions: which commit a params `revision:` names, so that every loader gets that commit and
every output records it.

A model or dataset reference is a hub id when it is not a local path. Its `revision` (a branch, tag or commit;
unset means `main`) is resolved once, before loading: a full commit hash stands for itself; online, the hub says
which commit the branch or tag points at now; offline (HF_HUB_OFFLINE=1), the local hub cache's ref does. The
loaders then get the commit itself, so model, tokenizer and recorded provenance cannot disagree even if the
branch moves mid-run. Pure apart from `resolve`.

>>> is_hub("Qwen/Qwen2.5-0.5B-Instruct"), is_hub("./models/x"), is_hub("/abs/path"), is_hub(""), is_hub("data/gone.jsonl")
(True, False, False, False, False)
>>> is_pinned("0123456789abcdef0123456789abcdef01234567"), is_pinned("main"), is_pinned(None)
(True, False, False)
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

COMMIT = re.compile(r"[0-9a-f]{40}")
LOCAL_FILES = (".jsonl", ".json", ".parquet", ".csv", ".gguf")  # a missing one is a missing file, not a hub id


def is_hub(ref: Optional[str]) -> bool:
    """A hub id (`org/name` or `name`), not a local file or folder."""
    return (bool(ref) and not ref.startswith((".", "/", "~")) and Path(ref).suffix not in LOCAL_FILES
            and not Path(ref).exists())


def is_pinned(revision: Optional[str]) -> bool:
    """Pinned means a full commit hash: a branch or tag can move under a user."""
    return bool(revision) and bool(COMMIT.fullmatch(revision))


def resolve(repo_id: str, revision: Optional[str], repo_type: str = "model") -> Optional[str]:
    """The commit that `revision` (None: main) of a hub repository names now; None when nothing can tell
    (offline, and the cache holds no such ref)."""
    rev = revision or "main"
    if is_pinned(rev):
        return rev
    from huggingface_hub import HfApi, constants

    if not constants.HF_HUB_OFFLINE:
        return HfApi().repo_info(repo_id, revision=rev, repo_type=repo_type).sha
    ref = Path(constants.HF_HUB_CACHE) / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / rev
    return ref.read_text().strip() if ref.is_file() else None


def pin(ref: str, revision: Optional[str], repo_type: str = "model") -> tuple[Optional[str], dict]:
    """(the revision to load, its provenance) for a model or dataset reference. Local paths load as they are and
    record nothing; a hub id loads the resolved commit and records `revision` (what params asked) and `commit`."""
    if not is_hub(ref):
        return None, {}
    commit = resolve(ref, revision, repo_type)
    if commit is None:
        log.warning("%s: revision %s not resolved to a commit (offline, not in the cache); loading it as named",
                    ref, revision or "main")
    elif not is_pinned(revision):
        log.warning("%s: revision %s is not pinned; it is commit %s now: set `revision: %s` to keep it",
                    ref, revision or "main", commit, commit)
    return commit or revision, {"revision": revision or "main", "commit": commit}


def commit_key(provenance: dict) -> dict:
    """The part of `pin`'s provenance that decides outputs, for a backend's identity (the generation cache's key)."""
    return {"commit": provenance["commit"]} if provenance else {}
