"""Atomic output: an export is written into a hidden folder next to its target and moved
into place only when every component passed its checks, so a failed export leaves nothing."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Yield a temp folder on the same filesystem as ``final``; on success its entries replace
    those of ``final`` (the whole folder is renamed when ``final`` does not exist yet)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
        publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, final: Path) -> None:
    if not final.exists():
        os.replace(tmp, final)  # one rename: all or nothing
        return
    # An earlier export of other components is there: replace entry by entry (each rename atomic).
    for entry in sorted(tmp.iterdir()):
        dst = final / entry.name
        if dst.is_dir() and not dst.is_symlink():
            old = final / f".{entry.name}.old"
            os.replace(dst, old)
            os.replace(entry, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(entry, dst)
