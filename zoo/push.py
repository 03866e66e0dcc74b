"""`zoo push`: write a model's Hub repo layout (diffusers folders, card, spec, hashes) to a
local folder or upload it. Staged in a temporary folder first, so a failed or interrupted push
leaves nothing half-written."""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from . import atomic, hub
from .cards.render import Pushed
from .errors import HubAuthError, ZooError
from .specs import ModelSpec


def stage(model: Any, spec: ModelSpec, folder: Path, extra_files: Optional[dict[str, Path]] = None,
          pushed: Optional[Pushed] = None) -> Path:
    """Write the repo layout of ``model`` into an existing empty ``folder``.

    Components whose classes diffusers lacks get their modelling code beside their weights
    (``zoo.remote_code``), so ``DiffusionPipeline.from_pretrained(REPO, trust_remote_code=True)``
    loads the repo without the zoo; the card (``pushed``) says where the weights are and how to load them.
    """
    from .cards import render_card

    model.save_pretrained(str(folder), safe_serialization=True)
    code = _write_code(folder, model, spec)
    pushed = replace(pushed or Pushed(folder=str(folder)), code_files=tuple(sorted(code.values())))
    (folder / hub.SPEC_FILE).write_text(spec.model_dump_json(indent=2) + "\n")
    (folder / "README.md").write_text(str(render_card(spec, pushed=pushed)) + "\n")
    for rel, src in (extra_files or {}).items():
        dst = folder / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if Path(src).is_dir() else shutil.copy2)(src, dst)
    hub.write_manifest(folder, spec.id)
    return folder


def _write_code(folder: Path, model: Any, spec: ModelSpec) -> dict[str, str]:
    from .remote_code import NotSelfContainedError, write_pipeline_code

    if not (folder / "model_index.json").exists():
        return {}
    try:
        return write_pipeline_code(folder, model)
    except NotSelfContainedError as exc:
        # Still a valid zoo repo; the card then says plain diffusers needs the zoo installed.
        warnings.warn(f"{spec.id}: model code not shipped, plain diffusers will need the zoo: {exc}", stacklevel=3)
        return {}


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
    if dest is not None:  # before any heavy work: the destination can take the layout
        atomic.check_writable(dest.parent)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())) and not overwrite:
            raise atomic.exists_error(dest)
    model = load(model_id, pretrained=pretrained, weights=weights)
    extra = {f"exports/{Path(p).name}": Path(p) for p in exports or []}
    if dest is not None:
        # staged beside dest and swapped in whole: a kill leaves the old folder or the new one
        with atomic.write_dir(dest, overwrite=True) as tmp:
            stage(model, spec, tmp, extra, Pushed(repo=repo, folder=None if repo else str(dest), random_init=not pretrained))
        return str(dest)
    with atomic.temp_dir(Path(tempfile.gettempdir()), f"zoo-push-{spec.id}") as tmp:
        stage(model, spec, tmp, extra, Pushed(repo=repo, folder=None if repo else str(dest), random_init=not pretrained))
        return _upload(tmp, repo, token, private, commit_message or f"zoo push {spec.id}")


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
