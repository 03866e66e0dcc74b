"""Weight resolution and safe loading.

Order: explicit path -> local dir ($ZOO_MODELS_DIR/<id>) -> Hugging Face cache -> Hub at the
spec's pinned revision (skipped when HF_HUB_OFFLINE=1). Only safetensors are read; a folder
holding only pickle checkpoints is refused. Files listed in ``zoo_manifest.json`` (written
by ``zoo push``) are checked against their sha256.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

from .errors import CorruptWeightsError, UnsafeCheckpointError, WeightsNotFoundError, ZooError
from .specs import ModelSpec

MANIFEST = "zoo_manifest.json"
SPEC_FILE = "zoo_spec.json"
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl", ".pickle")
# What a download of a diffusers repo needs: configs, tokenizer files and the fp32 safetensors
# of each component; never the pickles, fp16/non-EMA variants or the single-file checkpoints.
ALLOW_PATTERNS = ["*.json", "*/*.json", "*/*.txt", "*/*.model", "*/*.safetensors", "*.safetensors"]
IGNORE_PATTERNS = [
    "*.bin", "*.ckpt", "*.pt", "*.pth", "*.msgpack", "*.h5", "*.onnx", "*.onnx_data",
    "*.fp16.*", "*non_ema*", "*.ema.*", "*emaonly*", "v1-5-pruned*", "*.mlpackage/*",
]


def offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def models_dir() -> Path:
    return Path(os.environ.get("ZOO_MODELS_DIR", Path.home() / ".cache" / "ondevice-zoo" / "models"))


def sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


def resolve(
    spec: Optional[ModelSpec],
    weights: Optional[str | os.PathLike] = None,
    revision: Optional[str] = None,
    repo: Optional[str] = None,
    progress: bool = True,
) -> Path:
    """Return a local folder in diffusers layout holding the weights for ``spec``."""
    if weights is not None:
        p = Path(weights).expanduser()
        if not p.exists():
            raise WeightsNotFoundError(f"weights path {str(p)!r} does not exist")
        return p
    if spec is not None:
        local = models_dir() / spec.id
        if local.is_dir() and any(local.iterdir()):
            return local
    repo = repo or (spec.hub_repo if spec is not None else None)
    name = spec.id if spec is not None else repo
    if not repo:
        raise WeightsNotFoundError(
            f"no weights for {name!r}: it has no Hub repo yet. Train them (`zoo train {name}`), "
            f"pass weights=PATH, or use pretrained=False for a random-init build."
        )
    rev = revision or (spec.revision if spec is not None else None)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    kw = dict(repo_id=repo, revision=rev, allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS)
    try:
        return Path(snapshot_download(local_files_only=True, **kw))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        pass
    except Exception:
        pass
    if offline():
        raise WeightsNotFoundError(
            f"{name!r} ({repo}@{rev or 'main'}) is not in the Hugging Face cache and HF_HUB_OFFLINE=1 "
            f"forbids downloading. Run `zoo fetch {name}` on a machine with network access, "
            f"or pass weights=PATH."
        )
    try:
        return Path(snapshot_download(**kw, tqdm_class=None if progress else _silent_tqdm()))
    except Exception as exc:  # network, auth, missing revision
        raise WeightsNotFoundError(f"could not download {repo}@{rev or 'main'}: {type(exc).__name__}: {exc}") from exc


def _silent_tqdm():
    from tqdm.auto import tqdm

    class Silent(tqdm):  # type: ignore[misc]
        def __init__(self, *a, **k):
            k["disable"] = True
            super().__init__(*a, **k)

    return Silent


def check_safe(folder: Path) -> None:
    """Refuse a component folder that offers only pickle checkpoints."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    has_st = any(p.suffix == ".safetensors" for p in files)
    pickles = [p for p in files if p.suffix in PICKLE_SUFFIXES]
    if pickles and not has_st:
        raise UnsafeCheckpointError(
            f"{folder} holds only pickle checkpoints ({', '.join(p.name for p in pickles[:3])}); the zoo loads "
            f"safetensors only, since unpickling can run arbitrary code. Convert them with "
            f"`safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors')`."
        )


def verify_manifest(folder: Path) -> None:
    mpath = folder / MANIFEST
    if not mpath.exists() or os.environ.get("ZOO_SKIP_HASH") == "1":
        return
    manifest = json.loads(mpath.read_text())
    for rel, meta in manifest.get("files", {}).items():
        p = folder / rel
        if not p.exists():
            continue  # a partial download (allow_patterns) need not hold every file
        if p.stat().st_size != meta["size"] or sha256(p) != meta["sha256"]:
            raise CorruptWeightsError(
                f"{p} does not match the hash recorded at push ({meta['sha256'][:12]}...): the file is "
                f"corrupt or was changed. Delete it and fetch again (`zoo fetch`)."
            )


def load_state_dict(folder: Path) -> dict:
    """Read every safetensors shard in a component folder into one state dict."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safe(folder)
    shards = sorted(p for p in folder.glob("*.safetensors") if ".fp16." not in p.name)
    if not shards:
        raise WeightsNotFoundError(f"no .safetensors file in {folder}")
    sd: dict = {}
    for s in shards:
        try:
            sd.update(load_file(str(s)))
        except (SafetensorError, Exception) as exc:
            raise CorruptWeightsError(f"cannot read {s}: {exc}. Delete it and fetch again.") from exc
    return sd


def write_manifest(folder: Path, spec_id: Optional[str] = None) -> dict:
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            files[p.relative_to(folder).as_posix()] = {"sha256": sha256(p), "size": p.stat().st_size}
    from . import __version__

    data = {"zoo_version": __version__, "model_id": spec_id, "files": files}
    (folder / MANIFEST).write_text(json.dumps(data, indent=2) + "\n")
    return data


def read_spec_file(folder: Path) -> Optional[ModelSpec]:
    p = folder / SPEC_FILE
    if not p.exists():
        return None
    try:
        return ModelSpec.model_validate_json(p.read_text())
    except Exception as exc:
        raise ZooError(f"{p} is not a valid zoo spec: {exc}") from exc
