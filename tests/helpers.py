"""Shared test helpers: write Hub-layout caches by hand, compare model outputs."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


def write_hf_cache(cache: Path, repo: str, src: Path, revision: str = "0" * 40, ref: str = "main") -> Path:
    """Lay out ``src`` (a repo folder) as huggingface_hub's cache does: blobs + snapshot links + refs."""
    base = cache / f"models--{repo.replace('/', '--')}"
    snap = base / "snapshots" / revision
    (base / "blobs").mkdir(parents=True, exist_ok=True)
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        data = f.read_bytes()
        blob = base / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        dst = snap / f.relative_to(src)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(Path(*[".."] * (len(dst.relative_to(base).parts) - 1), "blobs", blob.name))
    (base / "refs").mkdir(exist_ok=True)
    (base / "refs" / ref).write_text(revision)
    return snap


def unet_output(pipe, seed: int = 0):
    """Deterministic UNet output of a (tiny) SD pipeline."""
    import torch

    import zoo
    from zoo.components import component_modules

    spec = zoo.spec_of(pipe) or zoo.get_spec("sd15-tiny")  # a plain diffusers pipeline has no spec
    mod, inputs = component_modules(pipe, spec=spec, names=["unet"])["unet"]
    with torch.no_grad():
        return mod(**inputs)


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def fake_hf_api(on_upload=None):
    """``huggingface_hub.HfApi`` replaced at its boundary: returns (class, calls) where ``calls``
    records the token, the repo created and the files that would be uploaded (one commit)."""
    import types

    calls: dict = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, **kw):
            calls["create"] = (repo_id, kw)
            return f"https://huggingface.co/{'spaces/' if kw.get('repo_type') == 'space' else ''}{repo_id}"

        def upload_folder(self, folder_path, repo_id, commit_message=None, repo_type=None, **kw):
            folder = Path(folder_path)
            calls["upload"] = (repo_id, repo_type)
            calls["files"] = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
            if on_upload is not None:
                on_upload(folder)
            return types.SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/1")

    return FakeApi, calls
