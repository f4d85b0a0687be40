"""Files: JSONL records, JSON metrics, atomic writes, provenance.

Every write goes to a temporary file in the destination folder and is renamed
into place, so a killed stage never leaves a half file that DVC could hash.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import DataError


def text_key(text: str) -> str:
    """How texts (questions, responses) are matched across tables: whitespace-normalised."""
    return " ".join(str(text).split())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: Path, mode: int) -> None:
    """mkstemp / mkdtemp create 0600 / 0700; a written output gets the mode any new file gets here (the umask), so a
    lab's group-readable workspace stays readable."""
    os.chmod(path, mode & ~_umask())


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    _ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _as_umask_allows(tmp, 0o666)
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    _ensure_dir(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        _as_umask_allows(tmp, 0o777)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _ensure_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot create output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"output folder {folder} is not writable")


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# Keys Hugging Face writes that record how a folder was loaded, not what it holds: `local_files_only` follows
# HF_HUB_OFFLINE and `is_local` where the files came from, so the same tokenizer saved twice differed by a byte.
_LOAD_TIME_KEYS = {"tokenizer_config.json": ("local_files_only", "is_local")}
# PEFT keeps these as Python sets and writes them in hash-seed order: the same adapter, different bytes.
_SET_VALUED_KEYS = {"adapter_config.json": ("target_modules", "exclude_modules", "modules_to_save")}


def canonical_hf_files(folder: str | Path) -> None:
    """Make a saved model/tokenizer/adapter folder a function of its content: drop load-time keys and sort
    set-valued lists, so identical inputs give byte-identical files (and DVC hashes) in every run."""
    for name in sorted(set(_LOAD_TIME_KEYS) | set(_SET_VALUED_KEYS)):
        path = Path(folder) / name
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        for key in _LOAD_TIME_KEYS.get(name, ()):
            data.pop(key, None)
        for key in _SET_VALUED_KEYS.get(name, ()):
            if isinstance(data.get(key), list):
                data[key] = sorted(data[key])
        write_json(path, data)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    n = 0
    with atomic_path(path) as tmp:
        with tmp.open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                n += 1
    return n


def read_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    records = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
            missing = [k for k in required if rec.get(k) in (None, "")]
            if missing:
                raise DataError(f"{path}:{lineno}: record lacks {', '.join(missing)}")
            records.append(rec)
    return records


def load_hf_model(path: str, dtype, trust_remote_code: bool = False, where: str = "for it", revision: str | None = None):
    """(model, tokenizer) from a model folder or hub id (at `revision`, see hub.pin), with clear errors for a missing
    model and for one that needs custom code (which never runs unless trust_remote_code is set)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, revision=revision)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, trust_remote_code=trust_remote_code,
                                                     revision=revision)
    except OSError as exc:
        raise FileNotFoundError(f"cannot load a model from {path}: {exc}") from None
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise DataError(f"{path} needs custom code: set trust_remote_code: true {where} in params.yaml") from None
        raise
    return model, tok


_TABLES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def read_table(source: str, columns: tuple[str, ...], split: str = "train", subset: str | None = None,
               hint: str = "", revision: str | None = None) -> list[dict]:
    """Rows of a local JSONL/JSON/Parquet/CSV file or of a hub dataset at `revision` (`subset: "a,b"` concatenates
    configs), checked to hold `columns`. The one reader of problem files, dataset teachers and released mixes."""
    suffix = Path(source).suffix
    if suffix in _TABLES or Path(source).is_file():  # a folder is a dataset repository: datasets reads it
        if suffix not in _TABLES:
            raise DataError(f"{source}: unsupported file type; use one of {', '.join(_TABLES)}")
        if not Path(source).is_file():
            raise DataError(f"{source}: file not found")
        if suffix == ".jsonl":
            rows = read_jsonl(source)
        else:
            from datasets import load_dataset

            rows = load_dataset(_TABLES[suffix], data_files=source, split="train").to_list()
    else:
        from datasets import load_dataset

        rows = []
        for name in [s.strip() for s in subset.split(",")] if subset else [None]:
            rows += load_dataset(source, name, split=split, revision=revision).to_list()
    have = list(rows[0]) if rows else []
    missing = [c for c in columns if c not in have]
    if missing and rows:
        raise DataError(f"{source} has no column(s) {missing}; its columns: {', '.join(have)}{hint}")
    return rows


_PACKAGES = ("mixdistill", "torch", "transformers", "trl", "peft", "datasets", "math-verify", "reasoning-gym", "vllm")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions
