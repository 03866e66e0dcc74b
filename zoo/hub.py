"""Weight resolution and safe loading.

Order: explicit path -> local dir ($ZOO_MODELS_DIR/<id>) -> weights shipped inside a package
(``spec.shipped_weights``) -> Hugging Face cache -> Hub at the spec's pinned revision (skipped
when HF_HUB_OFFLINE=1). Only safetensors are read; a folder
holding only pickle checkpoints is refused. Files listed in ``zoo_manifest.json`` (written
by ``zoo push``) are checked against their sha256.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Optional

from .errors import CorruptWeightsError, UnsafeCheckpointError, WeightsNotFoundError, ZooError, one_line, say
from . import verified
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
    display: Optional[str] = None,
) -> Path:
    """Return a local folder in diffusers layout holding the weights for ``spec``.

    ``display`` is the id as the user typed it (``hf-hub:org/name@rev``): hints repeat it.
    """
    if weights is not None:
        p = Path(weights).expanduser()
        if not p.exists():
            raise WeightsNotFoundError(f"weights path {str(p)!r} does not exist")
        return p
    if spec is not None:
        local = models_dir() / spec.id
        if local.is_dir() and any(local.iterdir()):
            return local
        shipped = shipped_folder(spec)
        if shipped is not None:
            return shipped
    repo = repo or (spec.hub_repo if spec is not None else None)
    name = display or (spec.id if spec is not None else f"hf-hub:{repo}")
    if not repo:
        raise WeightsNotFoundError(f"no weights for {name!r}: {no_weights_hint(spec)}")
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
    _refuse_pickle_only_snapshot(repo, rev, name)
    if offline():
        raise WeightsNotFoundError(
            f"{name!r} ({repo}@{rev or 'main'}) is not in the Hugging Face cache and HF_HUB_OFFLINE=1 "
            f"forbids downloading. Run `{fetch_command(name, revision)}` on a machine with network access, "
            f"or pass {say('weights=PATH', '--weights DIR')}."
        )
    try:
        return Path(snapshot_download(**kw, tqdm_class=None if progress else _silent_tqdm()))
    except Exception as exc:  # network, auth, missing revision
        raise download_error(repo, rev, exc) from exc


def fetch_command(name: str, revision: Optional[str] = None) -> str:
    """The `zoo fetch` line that fills the cache for the id as typed (prefix and @rev kept)."""
    cmd = f"zoo fetch {name}"
    if revision and not name.endswith(f"@{revision}"):
        cmd += f" --revision {revision}"
    return cmd


def no_weights_hint(spec: Optional[ModelSpec]) -> str:
    """How to get a model running when no weights are published: only options that exist."""
    random_init = say("pretrained=False", "--random-init")
    if spec is not None and spec.id.split(".")[0].endswith("-tiny"):
        return (f"it is a test variant whose weights are random by design (nothing to download); "
                f"build it with {random_init}.")
    ways = []
    if spec is not None and has_train_hook(spec.plugin):
        ways.append(f"train them (`zoo train {spec.id}`)")
    ways.append(f"pass {say('weights=PATH', '--weights DIR')}")
    ways.append(f"use {random_init} for a random-init build")
    return "it has no Hub repo yet: " + ", ".join(ways[:-1]) + f" or {ways[-1]}."


def has_train_hook(plugin: Optional[str]) -> bool:
    from .plugins import get_plugin_manager

    return plugin is not None and any(name == plugin for name, _ in get_plugin_manager().impls("train_model"))


def download_error(repo: str, rev: Optional[str], exc: BaseException) -> WeightsNotFoundError:
    """One line for a failed download; a timeout names the setting that lengthens it."""
    chain = [exc, exc.__cause__, exc.__context__]
    if any(e is not None and ("Timeout" in type(e).__name__ or "timed out" in str(e).lower()) for e in chain):
        from huggingface_hub import constants

        return WeightsNotFoundError(
            f"downloading {repo}@{rev or 'main'} timed out after {constants.HF_HUB_DOWNLOAD_TIMEOUT} s: raise "
            f"HF_HUB_DOWNLOAD_TIMEOUT (seconds, e.g. HF_HUB_DOWNLOAD_TIMEOUT=60) on a slow connection and retry")
    return WeightsNotFoundError(f"could not download {repo}@{rev or 'main'}: {type(exc).__name__}: {one_line(exc)}")


def cached_repo_dir(repo: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"


def cached_snapshot(repo: str, rev: Optional[str]) -> Optional[Path]:
    """The cached snapshot folder for ``repo@rev`` (a branch, tag or commit), if present."""
    base = cached_repo_dir(repo)
    ref = base / "refs" / (rev or "main")
    commit = ref.read_text().strip() if ref.is_file() else rev
    snap = base / "snapshots" / commit if commit else None
    return snap if snap is not None and snap.is_dir() else None


def _refuse_pickle_only_snapshot(repo: str, rev: Optional[str], name: str) -> None:
    snap = cached_snapshot(repo, rev)
    if snap is None:
        return
    files = [p for p in snap.rglob("*") if p.is_file()]
    pickles = [p for p in files if p.suffix in PICKLE_SUFFIXES]
    if pickles and not any(p.suffix == ".safetensors" for p in files):
        raise UnsafeCheckpointError(
            f"{name!r} is in the Hugging Face cache ({snap}) but only as pickle checkpoints "
            f"({', '.join(p.name for p in pickles[:3])}); the zoo loads safetensors only, since unpickling can run "
            f"arbitrary code. Fetch a revision that has .safetensors, or convert them and pass "
            f"{say('weights=DIR', '--weights DIR')}.")


def shipped_folder(spec: ModelSpec) -> Optional[Path]:
    """The folder of weights ``spec`` ships inside its package ('package:folder'), if installed."""
    if not spec.shipped_weights:
        return None
    import importlib.util

    package, _, rel = spec.shipped_weights.partition(":")
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        return None
    for root in found.submodule_search_locations:
        folder = Path(root) / rel
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    return None


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
    try:
        manifest = json.loads(mpath.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptWeightsError(f"{mpath} is not valid JSON ({one_line(exc)}): the download is damaged") from None
    for rel, meta in manifest.get("files", {}).items():
        p = folder / rel
        if not p.exists():
            continue  # a partial download (allow_patterns) need not hold every file
        if p.stat().st_size != meta["size"] or verified.sha256(p) != meta["sha256"]:  # hashed once per change
            raise CorruptWeightsError(
                f"{p} does not match the sha256 recorded at push ({meta['sha256'][:12]}...): the file is "
                f"corrupt or truncated.")


_SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")


def snapshot_problems(folder: Path) -> list[str]:
    """Files of a cached snapshot whose bytes do not match their recorded sha256 (the zoo
    manifest, else the blob's own name: the Hub names LFS blobs by their sha256)."""
    recorded: dict = {}
    bad: list[str] = []
    mpath = folder / MANIFEST
    if mpath.exists():
        try:
            recorded = json.loads(mpath.read_text()).get("files", {})
        except (ValueError, UnicodeDecodeError, OSError):
            bad.append(MANIFEST)
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink() and not p.exists():
            bad.append(rel)  # the blob behind the link is gone
            continue
        if not p.is_file() or rel == MANIFEST:
            continue
        meta = recorded.get(rel) or {}
        want, size = meta.get("sha256"), meta.get("size")
        if want is None and p.is_symlink() and _SHA256_NAME.match(Path(os.readlink(p)).name):
            want = Path(os.readlink(p)).name
        if want and ((size is not None and p.stat().st_size != size) or sha256(p) != want):
            bad.append(rel)
    return bad


def repair_snapshot(repo: str, folder: Path, bad: list[str], name: str) -> None:
    """Re-download the damaged files of a cached snapshot (blob and link both replaced:
    deleting only the link would re-link the same bad blob)."""
    if offline():
        raise CorruptWeightsError(
            f"{len(bad)} file(s) of {name!r} in the cache are corrupt ({', '.join(bad[:3])}) and HF_HUB_OFFLINE=1 "
            f"forbids re-downloading them: run `{fetch_command(name)}` with network access")
    from huggingface_hub import hf_hub_download

    for rel in bad:
        link = folder / rel
        if link.is_symlink():
            blob = (link.parent / os.readlink(link)).resolve()
            with contextlib.suppress(FileNotFoundError):
                blob.unlink()
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        try:
            hf_hub_download(repo, rel, revision=folder.name, force_download=True)
        except Exception as exc:
            raise download_error(repo, folder.name, exc) from exc
    still = snapshot_problems(folder)
    if still:
        raise CorruptWeightsError(f"{repo}@{folder.name}: {', '.join(still[:3])} still differ from the recorded "
                                  f"sha256 after a fresh download: the repo itself holds bad files")


def fetch(spec: Optional[ModelSpec], repo: Optional[str] = None, revision: Optional[str] = None,
          display: Optional[str] = None, progress: bool = True) -> tuple[Path, list[str]]:
    """Fill the cache for a model and check every file against its recorded sha256; corrupt or
    truncated files are downloaded again. Returns the snapshot folder and the repaired files."""
    folder = resolve(spec, repo=repo, revision=revision, progress=progress, display=display)
    repo = repo or (spec.hub_repo if spec is not None else None)
    if repo is None or not _in_hf_cache(folder):
        return folder, []  # a local folder: nothing to download it from
    bad = snapshot_problems(folder)
    if bad:
        repair_snapshot(repo, folder, bad, display or (spec.id if spec else f"hf-hub:{repo}"))
    return folder, bad


def _in_hf_cache(folder: Path) -> bool:
    from huggingface_hub import constants

    try:
        folder.absolute().relative_to(Path(constants.HF_HUB_CACHE).absolute())
        return True
    except ValueError:
        return False


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
