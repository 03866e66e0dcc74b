"""Atomic output: every file or folder the zoo writes (push, export, fetch repairs, eval
records, training checkpoints, `zoo run` images) appears complete or not at all.

A writer fills a hidden sibling named ``.{name}.partial-{pid}-{token}`` and renames it into
place when done. A kill at any moment therefore leaves the destination absent (or as it was)
plus at most that sibling, and the next write into the same folder removes siblings whose
process is gone (never a live one's). SIGTERM unwinds like Ctrl-C, so the writer's own
clean-up runs. Replacing a folder moves the old one aside (``.{name}.old-{pid}-{token}``),
renames the new one in, then deletes the old one. New folders and files get the user's
normal permissions (0777/0666 less the umask), not mkdtemp's 0700.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import signal
import threading
from pathlib import Path
from typing import Iterator, Optional, Union

from .errors import OutputError, say

PathLike = Union[str, os.PathLike]
_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})$")
# errno values that mean "this destination cannot take the output": a one-line user error.
_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EEXIST}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep(parent: PathLike) -> list[Path]:
    """Remove the partial/old siblings in ``parent`` left by processes that no longer run."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _SIBLING.match(p.name)
        if m is None or _alive(int(m["pid"])):
            continue
        _remove(p)
        removed.append(p)
    return removed


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def sibling(final: PathLike, kind: str = "partial") -> Path:
    final = Path(final)
    return final.with_name(f".{final.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def unwritable(path: PathLike, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc} (choose another destination)")


def make_dirs(folder: PathLike) -> Path:
    """``mkdir -p`` with the user's permissions; an unwritable place is a one-line OutputError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(folder, exc) from None
    return folder


def check_writable(folder: PathLike) -> None:
    """Fail fast (before building anything) when output could not be written under ``folder``."""
    folder = Path(folder).expanduser().absolute()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot write under {folder}: {probe} is not a folder")
    # Try it (os.access says yes to root on read-only mounts and /proc): a probe file, removed at once.
    test = sibling(probe / ".zoo-write-probe")
    try:
        test.touch(exist_ok=False)
        test.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write under {folder}: {probe}: {exc.strerror or exc} (choose another destination)") from None


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread, default handler only)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _guard(final: Path, tmp: Path) -> contextlib.AbstractContextManager:
    """Remove ``tmp`` however the block ends; map 'cannot write here' OSErrors to OutputError."""

    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        try:
            with terminate_as_interrupt():
                yield
        except OSError as exc:
            if exc.errno in _UNWRITABLE:
                raise unwritable(final.parent, exc) from None
            raise
        finally:
            if tmp.exists() or tmp.is_symlink():
                _remove(tmp)

    return guard()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_permissions(path: Path) -> None:
    """Give ``path`` (and what a folder holds) the user's normal modes.

    Some writers create their files through mkstemp (safetensors' ``save_file`` does), which
    leaves them 0600; the user expects 0666/0777 less the umask, as for any file they write.
    """
    mask = _umask()
    items = [path] + (list(path.rglob("*")) if path.is_dir() and not path.is_symlink() else [])
    for p in items:
        if p.is_symlink():
            continue
        mode = (0o777 if p.is_dir() else 0o666) & ~mask
        if p.is_file() and os.stat(p).st_mode & 0o111:
            mode |= 0o111 & ~mask  # keep executables executable
        with contextlib.suppress(OSError):
            os.chmod(p, mode)


def exists_error(final: Path) -> OutputError:
    return OutputError(f"{final} already exists: pass {say('overwrite=True', '--overwrite')} to replace it")


@contextlib.contextmanager
def write_dir(final: PathLike, overwrite: bool = False, keep_old_entries: bool = False) -> Iterator[Path]:
    """Yield an empty hidden folder next to ``final``; when the block succeeds it becomes ``final``.

    An existing ``final`` is an error unless ``overwrite``; then it is swapped out atomically.
    ``keep_old_entries`` carries over (hard-linked) entries of the old folder the new one lacks.
    """
    final = Path(final).expanduser().absolute()
    make_dirs(final.parent)
    sweep(final.parent)
    if (final.exists() or final.is_symlink()) and not overwrite:
        raise exists_error(final)
    tmp = sibling(final)
    with _guard(final, tmp):
        tmp.mkdir()  # mode 0o777 less the umask
        yield tmp
        if keep_old_entries and final.is_dir():
            _link_missing(final, tmp)
        normal_permissions(tmp)
        swap_in(tmp, final)


@contextlib.contextmanager
def write_file(final: PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a hidden sibling path to write; when the block succeeds it is renamed to ``final``."""
    final = Path(final).expanduser().absolute()
    make_dirs(final.parent)
    sweep(final.parent)
    if final.exists() and not overwrite:
        raise exists_error(final)
    tmp = sibling(final)
    with _guard(final, tmp):
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"the writer produced no file at {tmp}")
        normal_permissions(tmp)
        os.replace(tmp, final)


@contextlib.contextmanager
def temp_dir(near: PathLike, name: str = "staging") -> Iterator[Path]:
    """A scratch folder next to ``near`` that is removed afterwards (and swept if killed)."""
    near = make_dirs(Path(near).expanduser().absolute())
    sweep(near)
    tmp = sibling(near / name)
    with _guard(near / name, tmp):
        tmp.mkdir()
        yield tmp


def write_text(final: PathLike, text: str) -> Path:
    with write_file(final) as tmp:
        tmp.write_text(text)
    return Path(final)


def swap_in(new: Path, final: Path) -> None:
    """Make ``new`` be ``final``: old moved aside, new renamed in, old removed."""
    if final.exists() or final.is_symlink():
        old = sibling(final, "old")
        os.replace(final, old)
        try:
            os.replace(new, final)
        except BaseException:
            os.replace(old, final)  # put the old one back: the destination is never left empty
            raise
        _remove(old)
    else:
        os.replace(new, final)


def _link_missing(old: Path, new: Path) -> None:
    for entry in old.iterdir():
        dst = new / entry.name
        if dst.exists() or _SIBLING.match(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dst, copy_function=_link_or_copy, symlinks=True)
        else:
            _link_or_copy(str(entry), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def partials(parent: PathLike) -> list[Path]:
    """Partial/old siblings present in ``parent`` (live or not): what tests and `zoo doctor` look for."""
    try:
        return sorted(p for p in Path(parent).iterdir() if _SIBLING.match(p.name))
    except OSError:
        return []


def pid_of(path: PathLike) -> Optional[int]:
    m = _SIBLING.match(Path(path).name)
    return int(m["pid"]) if m else None
