"""A Hub cache that repairs itself: a flipped byte or a truncated blob makes the load fail
with the command that repairs it, `zoo fetch` (over a real loopback endpoint) re-downloads
what differs from the recorded sha256, and the load then gives the original output. Plus the
one-line errors of damaged plain diffusers folders and of download timeouts."""
from __future__ import annotations

from pathlib import Path

import pytest

import zoo
from zoo import hub
from zoo.cli import main
from zoo.errors import CorruptWeightsError, WeightsNotFoundError

from olah_endpoint import SKIP_REASON, child_env, commit_repo, olah_cli, run_child, serve

ORG, NAME = "zoo-test", "sd15-tiny-repair"
REPO = f"{ORG}/{NAME}"


def _unet_out(pipe):
    from helpers import unet_output

    return unet_output(pipe)


@pytest.mark.skipif(olah_cli() is None, reason=SKIP_REASON)
def test_corrupt_blob_load_fails_with_hint_fetch_repairs_it(tmp_path, monkeypatch):
    import torch
    from huggingface_hub import constants

    base = tmp_path / "olah"
    src = base / "mirrors" / "models" / ORG / NAME
    torch.manual_seed(0)
    pipe = zoo.build("sd15-tiny")
    pipe.save_pretrained(src, safe_serialization=True)
    (src / hub.SPEC_FILE).write_text(zoo.get_spec("sd15-tiny").model_dump_json())
    hub.write_manifest(src, "sd15-tiny")
    want = _unet_out(pipe)
    sha = commit_repo(src, "sd15-tiny for the repair test")
    ref = f"hf-hub:{REPO}@{sha}"
    fetch = f"from zoo.cli import main\nraise SystemExit(main(['fetch', {ref!r}]))\n"
    hf_home = tmp_path / "hf"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    with serve(base, REPO, sha) as url:
        env = child_env(url, hf_home)
        snap = Path(run_child(fetch, env).strip().splitlines()[-1].split(": ", 1)[1])
        # Damage the cache: one flipped byte in the UNet's weights, the VAE's truncated.
        unet_blob = (snap / "unet" / "diffusion_pytorch_model.safetensors").resolve()
        data = bytearray(unet_blob.read_bytes())
        data[len(data) // 2] ^= 0xFF
        unet_blob.write_bytes(bytes(data))
        vae_blob = (snap / "vae" / "diffusion_pytorch_model.safetensors").resolve()
        vae_blob.write_bytes(vae_blob.read_bytes()[:1000])

        with pytest.raises(CorruptWeightsError) as exc:  # this process is offline (conftest)
            zoo.load(ref)
        msg = str(exc.value)
        assert "\n" not in msg and f"`zoo fetch {ref}`" in msg, msg
        assert sorted(hub.snapshot_problems(snap)) == ["unet/diffusion_pytorch_model.safetensors",
                                                       "vae/diffusion_pytorch_model.safetensors"]
        # Offline, fetch cannot repair: it says so in one line (and names the command).
        with pytest.raises(CorruptWeightsError, match="HF_HUB_OFFLINE"):
            hub.fetch(None, repo=REPO, revision=sha, display=ref)

        out = run_child(fetch, env)
        assert "re-downloaded 2 corrupt file(s)" in out, out
        assert hub.snapshot_problems(snap) == []
    loaded = zoo.load(ref)
    torch.testing.assert_close(_unet_out(loaded), want, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def plain_folder(tmp_path_factory):
    """sd15-tiny written by plain diffusers (no zoo spec, no manifest)."""
    import torch

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("plain") / "pipe"
    zoo.build("sd15-tiny").save_pretrained(folder, safe_serialization=True)
    return folder


def _one_line_exit_2(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    # progress bars drawn before the failure (diffusers' "Loading pipeline components") are not messages
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "%|" not in ln]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("damage", ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"])
def test_damaged_plain_diffusers_folder_is_one_line(plain_folder, tmp_path, capsys, damage):
    import shutil

    folder = tmp_path / "pipe"
    shutil.copytree(plain_folder, folder)
    f = folder / damage
    f.write_bytes(f.read_bytes()[: max(10, f.stat().st_size // 3)])  # broken JSON / truncated weights
    err = _one_line_exit_2(capsys, "run", f"local-dir:{folder}", "--steps", "1", "--out", str(tmp_path / "x.png"))
    assert "cannot read the model in" in err and "Replace the damaged files" in err


def test_download_timeout_names_the_setting(monkeypatch):
    import huggingface_hub

    class ReadTimeout(Exception):
        pass

    def slow(*a, **k):
        if k.get("local_files_only"):
            raise FileNotFoundError("not cached")
        raise ReadTimeout("The read operation timed out")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", slow)
    monkeypatch.setattr(hub, "offline", lambda: False)
    with pytest.raises(WeightsNotFoundError, match="HF_HUB_DOWNLOAD_TIMEOUT") as exc:
        zoo.load("hf-hub:someorg/slow-model")
    assert "\n" not in str(exc.value)
