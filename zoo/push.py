"""`zoo push`: write a model's Hub repo layout (diffusers folders, card, spec, hashes) to a
local folder or upload it. Staged in a temporary folder first, so a failed or interrupted push
leaves nothing half-written."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

from . import hub
from .errors import HubAuthError, ZooError
from .specs import ModelSpec


def stage(model: Any, spec: ModelSpec, folder: Path, extra_files: Optional[dict[str, Path]] = None) -> Path:
    """Write the repo layout of ``model`` into an existing empty ``folder``."""
    from .cards import render_card

    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / hub.SPEC_FILE).write_text(spec.model_dump_json(indent=2) + "\n")
    (folder / "README.md").write_text(str(render_card(spec)) + "\n")
    for rel, src in (extra_files or {}).items():
        dst = folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if Path(src).is_dir() else shutil.copy2)(src, dst)
    hub.write_manifest(folder, spec.id)
    return folder


def push(
    model_id: str,
    repo: Optional[str] = None,
    to: Optional[str | os.PathLike] = None,
    pretrained: bool = True,
    weights: Optional[str] = None,
    token: Optional[str] = None,
    private: bool = False,
    overwrite: bool = False,
    exports: Optional[list[Path]] = None,
    commit_message: Optional[str] = None,
) -> str:
    """Push ``model_id``: ``to=DIR`` writes the repo layout locally, ``repo=ORG/NAME`` uploads it."""
    if (repo is None) == (to is None):
        raise ZooError("give exactly one of --repo ORG/NAME (upload) or --to DIR (local folder)")
    from .loading import load
    from .registry import get_registry

    spec = get_registry().get(model_id)
    if repo is not None:
        token = _token(token)  # fail before any heavy work
    dest = Path(to).expanduser().resolve() if to is not None else None
    if dest is not None and dest.exists() and any(dest.iterdir()) and not overwrite:
        raise ZooError(f"{dest} exists and is not empty (pass --overwrite to replace it)")
    model = load(model_id, pretrained=pretrained, weights=weights)
    extra = {f"exports/{Path(p).name}": Path(p) for p in exports or []}
    parent = dest.parent if dest is not None else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.id}.partial-", dir=parent))
    try:
        stage(model, spec, tmp, extra)
        if dest is not None:
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)  # atomic on one filesystem
            return str(dest)
        return _upload(tmp, repo, token, private, commit_message or f"zoo push {spec.id}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _token(token: Optional[str]) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise HubAuthError("no Hugging Face token: run `hf auth login` or set HF_TOKEN, then push again")
    return token


def _upload(folder: Path, repo: str, token: str, private: bool, message: str) -> str:
    if hub.offline():
        raise ZooError("HF_HUB_OFFLINE=1 is set: cannot upload (use --to DIR to write the layout locally)")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
    # One commit: the Hub repo either gets the whole layout or nothing.
    info = api.upload_folder(repo_id=repo, folder_path=str(folder), commit_message=message)
    return getattr(info, "commit_url", None) or f"https://huggingface.co/{repo}"
