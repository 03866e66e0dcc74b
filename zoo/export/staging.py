"""Atomic output for exports: an export is written into a hidden folder next to its target
and swapped into place only when every component passed its checks (``zoo.atomic``), so a
failed or killed export leaves nothing behind and the previous artifact stays as it was."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from .. import atomic


@contextlib.contextmanager
def staged_dir(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp folder beside ``final``; on success it replaces ``final`` in one swap.

    Exporting into an existing artifact folder needs ``overwrite``; components of the old
    folder that this export does not write are carried over (metadata merges them too).
    """
    with atomic.write_dir(final, overwrite=overwrite, keep_old_entries=True) as tmp:
        yield tmp


def check_destination(final: Path, overwrite: bool) -> None:
    """Before any build: the artifact folder can be written, and replacing it was asked for."""
    final = Path(final).expanduser()
    atomic.check_writable(final.parent)
    if final.exists() and not overwrite:
        raise atomic.exists_error(final)
