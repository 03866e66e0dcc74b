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
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORG, NAME = "zoo-test", "sd15-tiny"
REPO = f"{ORG}/{NAME}"
SEED, STEPS, PROMPT = 0, 2, "a red cube on a table"


def _olah_cli() -> Path | None:
    env = os.environ.get("ZOO_OLAH_CLI")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT / ".olah-venv" / "bin" / "olah-cli")
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


OLAH = _olah_cli()
pytestmark = pytest.mark.skipif(
    OLAH is None, reason="olah is not installed: run scripts/install_olah.sh (creates .olah-venv) or set ZOO_OLAH_CLI"
)

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


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """sd15-tiny saved in diffusers layout + zoo_spec.json + manifest, committed to a git repo."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
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
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "-c", "user.name=zoo", "-c", "user.email=zoo@localhost", "commit", "-q", "-m", "sd15-tiny")
    sha = _git(src, "rev-parse", "HEAD")
    ref = base / "reference.npy"
    _run_pipe(pipe, ref)
    return {"base": base, "src": src, "sha": sha, "reference": ref}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(mirror):
    """olah-cli on a free loopback port, offline, serving MIRRORS/models/ORG/NAME; stopped after."""
    base, port = mirror["base"], _free_port()
    cfg = base / "olah.toml"
    cfg.write_text(
        "[basic]\n"
        f'host = "127.0.0.1"\nport = {port}\n'
        f'repos-path = "{base / "olah-repos"}"\n'
        f'mirror-netloc = "127.0.0.1:{port}"\nmirror-lfs-netloc = "127.0.0.1:{port}"\n'
        f'mirrors-path = ["{base / "mirrors"}"]\n'
        "[accessibility]\noffline = true\n"
    )
    log = open(base / "olah.log", "wb")
    proc = subprocess.Popen([str(OLAH), "-c", str(cfg)], cwd=base, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # model_info needs an explicit revision on olah: without one it asks upstream (401).
    probe = f"{url}/api/models/{REPO}/revision/main"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"olah-cli exited ({proc.returncode}): {(base / 'olah.log').read_text()[-2000:]}")
            try:
                with _no_proxy_opener().open(probe, timeout=2) as r:
                    if json.load(r).get("sha") == mirror["sha"]:
                        break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"olah-cli did not serve {probe} within 90 s: {(base / 'olah.log').read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _child(code: str, endpoint: str, hf_home: Path, offline: bool = False, timeout: int = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_OFFLINE", "ZOO_SKIP_HASH"}}
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_OFFLINE="1" if offline else "0",
        HF_HUB_DISABLE_TELEMETRY="1", ZOO_MODELS_DIR=str(hf_home.parent / "zoo-models-empty"),
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", TOKENIZERS_PARALLELISM="false",
    )
    res = subprocess.run([sys.executable, "-c", RUN + code], capture_output=True, text=True, env=env, timeout=timeout)
    assert res.returncode == 0, f"child failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"
    return res.stdout


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
