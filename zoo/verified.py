"""Files whose sha256 the zoo has already checked, remembered by size, mtime and inode (as git's
index does), so that loading a folder hashes each file once instead of on every load.

A file that changes gets a new mtime (or size or inode) and is hashed again. The memo lives in
memory and in ``verified-files.json`` beside the local models folder (``$ZOO_MODELS_DIR/..``),
so a new process skips files verified before; if that folder cannot be written the memo is
simply per process.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Optional

_LOCK = threading.Lock()
_MEMO: Optional[dict[str, list]] = None  # resolved path -> [size, mtime_ns, inode, sha256]


def memo_path() -> Path:
    from .hub import models_dir

    return models_dir().parent / "verified-files.json"


def _load() -> dict[str, list]:
    global _MEMO
    if _MEMO is None:
        try:
            data = json.loads(memo_path().read_text())
            _MEMO = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _MEMO = {}
    return _MEMO


def _save(memo: dict[str, list]) -> None:
    from . import atomic

    try:
        atomic.write_text(memo_path(), json.dumps(memo) + "\n")
    except Exception:  # the memo is an optimisation: a read-only cache folder only costs re-hashing
        pass


def sha256(path: Path) -> str:
    """The sha256 of ``path``, hashed only if the file changed since it was last hashed."""
    from .hub import sha256 as hash_file

    real = Path(path).resolve()
    st = real.stat()
    sig = [st.st_size, st.st_mtime_ns, st.st_ino]
    with _LOCK:
        hit = _load().get(str(real))
    if hit and hit[:3] == sig:
        return hit[3]
    digest = hash_file(real)
    with _LOCK:
        memo = _load()
        memo[str(real)] = [*sig, digest]
        _save(memo)
    return digest


def forget() -> None:
    """Drop the memo (in memory and on disk)."""
    global _MEMO
    with _LOCK:
        _MEMO = {}
        try:
            os.remove(memo_path())
        except OSError:
            pass
