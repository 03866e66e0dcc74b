"""Loading a pushed folder hashes each file once: verified files are remembered by size, mtime
and inode, and a changed file is hashed (and caught) again."""
from __future__ import annotations

import json
import os

import pytest

from zoo import CorruptWeightsError, hub, verified


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path / "cache" / "models"))
    verified.forget()
    f = tmp_path / "repo"
    (f / "unet").mkdir(parents=True)
    (f / "unet" / "w.safetensors").write_bytes(b"x" * 4096)
    (f / "model_index.json").write_text("{}")
    hub.write_manifest(f, "demo")
    yield f
    verified.forget()


def test_second_verification_does_not_rehash(folder, monkeypatch):
    calls = []
    real = hub.sha256
    monkeypatch.setattr(hub, "sha256", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    hub.verify_manifest(folder)
    first = len(calls)
    assert first == 2  # both files hashed once
    hub.verify_manifest(folder)
    assert len(calls) == first
    memo = json.loads(verified.memo_path().read_text())
    assert str((folder / "unet" / "w.safetensors").resolve()) in memo
    verified._MEMO = None  # a new process: read back from disk, still no re-hash
    hub.verify_manifest(folder)
    assert len(calls) == first


def test_changed_file_is_hashed_again_and_caught(folder):
    hub.verify_manifest(folder)
    w = folder / "unet" / "w.safetensors"
    st = w.stat()
    w.write_bytes(b"y" * 4096)  # same size, new content
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(CorruptWeightsError, match="does not match"):
        hub.verify_manifest(folder)
