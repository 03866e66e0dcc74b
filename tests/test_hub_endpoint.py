"""A real Hub endpoint on loopback: olah (a self-hosted Hugging Face mirror) in offline mode
serves a plain git repo that the test writes; `zoo fetch`, `zoo.load("hf-hub:...")`, a
registered spec's hub_repo and plain diffusers all download through it over HTTP.

olah lives in a venv of its own (it pins psutil 5.9.8): `scripts/install_olah.sh` creates
`.olah-venv`, or set ZOO_OLAH_CLI to an olah-cli binary. huggingface_hub reads HF_ENDPOINT at
import, so everything that talks to the endpoint runs in a subprocess with its own env.
"""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from olah_endpoint import SKIP_REASON, child_env, commit_repo, olah_cli, run_child, serve

ORG, NAME = "zoo-test", "sd15-tiny"
REPO = f"{ORG}/{NAME}"
SEED, STEPS, PROMPT = 0, 2, "a red cube on a table"


pytestmark = pytest.mark.skipif(olah_cli() is None, reason=SKIP_REASON)

# The same pipeline call in the parent (the saved model) and in the children (the loaded one).
# ``digest`` fingerprints every weight tensor, so "loaded == saved" is checked exactly; the
# images agree to float tolerance (oneDNN picks kernels per process, last bits can differ).
RUN = f"""
import hashlib, json, torch, numpy as np
torch.set_num_threads(1)
def digest(pipe):
    out = {{}}
    for name, comp in sorted(pipe.components.items()):
        if isinstance(comp, torch.nn.Module):
            h = hashlib.sha256()
            for k, v in sorted(comp.state_dict().items()):
                h.update(k.encode()); h.update(v.detach().cpu().contiguous().numpy().tobytes())
            out[name] = h.hexdigest()
    return out
def run(pipe, out):
    pipe.set_progress_bar_config(disable=True)
    img = pipe({PROMPT!r}, num_inference_steps={STEPS}, height=64, width=64, output_type="np",
               generator=torch.Generator().manual_seed({SEED})).images
    np.save(out, img)
    open(out + ".json", "w").write(json.dumps(digest(pipe)))
"""


def _run_pipe(pipe, out: Path) -> None:
    scope: dict = {}
    exec(RUN, scope)
    scope["run"](pipe, str(out))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """sd15-tiny saved in diffusers layout + zoo_spec.json + manifest, committed to a git repo."""
    import torch

    import zoo
    from zoo import hub

    base = tmp_path_factory.mktemp("olah")
    src = base / "mirrors" / "models" / ORG / NAME
    torch.manual_seed(SEED)
    pipe = zoo.build("sd15-tiny")
    pipe.save_pretrained(src, safe_serialization=True)
    (src / hub.SPEC_FILE).write_text(zoo.get_spec("sd15-tiny").model_dump_json())
    hub.write_manifest(src, "sd15-tiny")
    sha = commit_repo(src, "sd15-tiny")
    ref = base / "reference.npy"
    _run_pipe(pipe, ref)
    return {"base": base, "src": src, "sha": sha, "reference": ref}


@pytest.fixture(scope="module")
def endpoint(mirror):
    with serve(mirror["base"], REPO, mirror["sha"]) as url:
        yield url


def _child(code: str, endpoint: str, hf_home: Path, offline: bool = False, timeout: int = 300) -> str:
    return run_child(RUN + code, child_env(endpoint, hf_home, offline), timeout)


def _same_image(a: Path, b: Path) -> None:
    import numpy as np

    x, y = np.load(a), np.load(b)
    assert x.shape == y.shape == (1, 64, 64, 3)
    np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)
    da, db = (json.loads(Path(str(p) + ".json").read_text()) for p in (a, b))
    assert set(da) == {"text_encoder", "unet", "vae"} and da == db


def test_fetch_then_offline_load_through_endpoint(mirror, endpoint, tmp_path, monkeypatch):
    """`zoo fetch` downloads through the endpoint byte-identically; zoo.load then works offline."""
    hf_home = tmp_path / "hf"
    ref = f"hf-hub:{REPO}@{mirror['sha']}"
    out = _child(f"from zoo.cli import main\nraise SystemExit(main(['fetch', {ref!r}]))\n", endpoint, hf_home)
    line = [ln for ln in out.splitlines() if ln.startswith(ref + ": ")][-1]
    fetched = Path(line.split(": ", 1)[1])
    assert fetched.is_dir() and hf_home in fetched.parents and fetched.name == mirror["sha"]
    src = mirror["src"]
    want = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file() and ".git" not in p.relative_to(src).parts)
    got = sorted(p.relative_to(fetched).as_posix() for p in fetched.rglob("*") if p.is_file())
    assert got == want
    for rel in want:
        assert filecmp.cmp(src / rel, fetched / rel, shallow=False), rel

    # The cache now holds the model: with the Hub switched off (conftest sets HF_HUB_OFFLINE=1
    # in this process) zoo.load reads it from there, in-process.
    from huggingface_hub import constants

    import zoo

    assert constants.HF_HUB_OFFLINE
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    pipe = zoo.load(ref)
    assert zoo.spec_of(pipe).id == "sd15-tiny"
    img = tmp_path / "offline.npy"
    _run_pipe(pipe, img)
    _same_image(mirror["reference"], img)


def test_registered_spec_and_plain_diffusers_download_through_endpoint(mirror, endpoint, tmp_path):
    """A registered spec whose hub_repo is the mirror loads with zoo.load; diffusers reads the same repo."""
    hf_home = tmp_path / "hf"
    zoo_img, diff_img = tmp_path / "zoo.npy", tmp_path / "diffusers.npy"
    _child(
        "import zoo, diffusers\n"
        "from zoo import WeightsNotFoundError\n"
        "base = zoo.get_spec('sd15-tiny')\n"
        f"spec = base.model_copy(update=dict(id='sd15-tiny-mirror', hub_repo={REPO!r}, revision={mirror['sha']!r}, plugin=None))\n"
        "zoo.get_registry().add_model(spec, plugin=base.plugin)\n"
        "pipe = zoo.load('sd15-tiny-mirror')\n"
        "assert zoo.spec_of(pipe).id == 'sd15-tiny-mirror'\n"
        f"run(pipe, {str(zoo_img)!r})\n"
        f"plain = diffusers.DiffusionPipeline.from_pretrained({REPO!r}, revision='main', use_safetensors=True)\n"
        "assert type(plain).__name__ == 'StableDiffusionPipeline'\n"
        f"run(plain, {str(diff_img)!r})\n"
        "try:\n"
        f"    zoo.load('hf-hub:{ORG}/no-such-model@main')\n"
        "    raise SystemExit('a missing repo loaded')\n"
        "except WeightsNotFoundError as exc:\n"
        f"    assert '{ORG}/no-such-model' in str(exc), exc\n",
        endpoint, hf_home,
    )
    _same_image(mirror["reference"], zoo_img)
    _same_image(mirror["reference"], diff_img)
