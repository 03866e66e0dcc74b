"""Nothing partial, ever: `zoo push --to` and `zoo export` killed with SIGKILL or SIGTERM at
several points leave the destination absent or complete (an old one intact), and the next run
leaves no partial sibling behind. Plus the pieces of zoo.atomic on their own."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zoo import atomic
from zoo.errors import OutputError

HERE = Path(__file__).resolve().parent
N_FILES = 4  # as in slow_writer.py


def _child(mode: str, parent: Path, overwrite: bool) -> subprocess.Popen:
    argv = [sys.executable, str(HERE / "slow_writer.py"), mode, str(parent)] + (["--overwrite"] if overwrite else [])
    return subprocess.Popen(argv, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _kill_at(proc: subprocess.Popen, point: str, sig: int, log: list) -> None:
    for line in proc.stdout:
        log.append(line.strip())
        if line.strip() == point:
            proc.send_signal(sig)
            break
    proc.wait(timeout=120)


def _dest(mode: str, parent: Path) -> Path:
    return parent / ("repo" if mode == "push" else "sd15-tiny-onnx-fp32")


def _complete(dest: Path, tag: str) -> bool:
    return (dest / "COMPLETE").is_file() and all((dest / f"{tag}{i}.bin").stat().st_size == 4096
                                                 for i in range(N_FILES))


CASES = [  # (mode, signal, kill after this line, an older complete destination exists)
    ("push", signal.SIGKILL, "wrote weights1", False),
    ("push", signal.SIGKILL, "written", True),
    ("push", signal.SIGTERM, "wrote weights1", False),
    ("push", signal.SIGTERM, "written", True),
    ("export", signal.SIGKILL, "written", True),
    ("export", signal.SIGTERM, "wrote unet1", False),
]  # export children import torch (seconds each on a loaded machine): two cases, both signals


def test_killed_writers_leave_nothing_partial(tmp_path):
    runs = []
    for i, (mode, sig, point, old) in enumerate(CASES):
        parent = tmp_path / f"case{i}"
        parent.mkdir()
        if old:  # a finished earlier result that --overwrite is replacing
            dest = _dest(mode, parent)
            dest.mkdir()
            (dest / "OLD").write_text("old\n")
            (parent / "had-old").touch()
        runs.append((mode, sig, point, old, parent, _child(mode, parent, overwrite=old), []))
    threads = [threading.Thread(target=_kill_at, args=(p, point, sig, log)) for _, sig, point, _, _, p, log in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    for mode, sig, point, old, parent, proc, log in runs:
        case = f"{mode} {signal.Signals(sig).name} after {point!r}"
        assert point in log, f"{case}: never reached the point: {log} {proc.stderr.read()[-2000:]}"
        dest, tag = _dest(mode, parent), "weights" if mode == "push" else "unet"
        if dest.exists():  # absent, the old one intact, or the new one complete: never a mix
            assert (old and (dest / "OLD").is_file() and not (dest / "COMPLETE").exists()) or _complete(dest, tag), case
        if sig == signal.SIGTERM:  # handled like Ctrl-C: the writer removed its own partial
            assert proc.returncode == 130, f"{case}: rc {proc.returncode} {proc.stderr.read()[-2000:]}"
            assert atomic.partials(parent) == [], case

    # The next run sweeps what SIGKILL left (its process is gone) and finishes.
    killed = [r for r in runs if r[1] == signal.SIGKILL]
    assert any(atomic.partials(r[4]) for r in killed)  # the test did catch writers mid-way
    nexts = [(mode, parent, _child(mode, parent, overwrite=True)) for mode, _, _, _, parent, _, _ in killed]
    for mode, parent, proc in nexts:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        assert atomic.partials(parent) == [], f"{mode}: {atomic.partials(parent)}"
        assert _complete(_dest(mode, parent), "weights" if mode == "push" else "unet")
        # push replaces the whole repo folder; export keeps components it did not re-export
        assert (_dest(mode, parent) / "OLD").exists() == (mode == "export" and (parent / "had-old").exists())


def test_sweep_removes_dead_partials_never_live_ones(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f".x.partial-{dead}-0123abcd").mkdir()
        (tmp_path / f".x.old-{dead}-0123abcd").mkdir()
        (tmp_path / f".y.partial-{live.pid}-0123abcd").mkdir()
        (tmp_path / f".z.partial-{os.getpid()}-0123abcd").write_text("mine")
        (tmp_path / "unrelated.partial-1-x").mkdir()
        removed = atomic.sweep(tmp_path)
        assert sorted(p.name for p in removed) == sorted([f".x.partial-{dead}-0123abcd", f".x.old-{dead}-0123abcd"])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [f".y.partial-{live.pid}-0123abcd", f".z.partial-{os.getpid()}-0123abcd", "unrelated.partial-1-x"])
    finally:
        live.kill()
        live.wait()


def test_write_dir_permissions_overwrite_and_errors(tmp_path):
    old_umask = os.umask(0o022)
    try:
        final = tmp_path / "out" / "thing"
        with atomic.write_dir(final) as tmp:
            (tmp / "a.txt").write_text("1")
            (tmp / "sub").mkdir()
        assert (final / "a.txt").read_text() == "1"
        assert final.stat().st_mode & 0o777 == 0o755 and (final / "a.txt").stat().st_mode & 0o777 == 0o644
        with pytest.raises(OutputError, match="overwrite"):  # a second write needs overwrite
            with atomic.write_dir(final):
                pass
        with atomic.write_dir(final, overwrite=True) as tmp:
            (tmp / "b.txt").write_text("2")
        assert sorted(p.name for p in final.iterdir()) == ["b.txt"]
        # keep_old_entries: an export of one component keeps the others
        with atomic.write_dir(final, overwrite=True, keep_old_entries=True) as tmp:
            (tmp / "c.txt").write_text("3")
        assert sorted(p.name for p in final.iterdir()) == ["b.txt", "c.txt"]
        # a failing writer leaves the old result and no partial
        with pytest.raises(RuntimeError):
            with atomic.write_dir(final, overwrite=True) as tmp:
                (tmp / "half").write_text("x")
                raise RuntimeError("writer died")
        assert sorted(p.name for p in final.iterdir()) == ["b.txt", "c.txt"] and atomic.partials(final.parent) == []
        with atomic.write_file(tmp_path / "f.json") as tmp:
            tmp.write_text("{}")
        assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old_umask)


def test_full_or_read_only_destination_is_one_line(tmp_path, monkeypatch):
    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutputError, match="No space left on device") as exc:
        with atomic.write_dir(tmp_path / "x") as tmp:
            (tmp / "w.bin").write_bytes(b"0")
    assert "\n" not in str(exc.value) and atomic.partials(tmp_path) == [] and not (tmp_path / "x").exists()
    with pytest.raises(OutputError, match="cannot write"):
        atomic.check_writable("/proc/zoo-out")


def test_files_written_through_mkstemp_get_normal_permissions(tmp_path):
    """safetensors writes through mkstemp (0600); the zoo's outputs still get the user's modes."""
    import torch
    from safetensors.torch import save_file

    from zoo.atomic import write_dir, write_file

    old_umask = os.umask(0o022)
    try:
        with write_file(tmp_path / "w.safetensors") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp))
        with write_dir(tmp_path / "folder") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp / "w.safetensors"))
        assert (tmp_path / "w.safetensors").stat().st_mode & 0o777 == 0o644
        assert (tmp_path / "folder" / "w.safetensors").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old_umask)
