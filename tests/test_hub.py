"""Weight resolution, safe loading and push: offline, with Hub-layout caches the tests write."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo import hub
from zoo.errors import CorruptWeightsError, UnsafeCheckpointError, WeightsNotFoundError, ZooError
from zoo.testing import temporary_plugin

from helpers import fake_hf_api, unet_output, write_hf_cache

REPO = "zoo-test/sd15-tiny-cached"


def tiny_repo(tmp_path: Path, seed: int = 0) -> tuple[Path, object]:
    torch.manual_seed(seed)
    pipe = zoo.build("sd15-tiny")
    src = tmp_path / "src"
    pipe.save_pretrained(src, safe_serialization=True)
    return src, pipe


def cached_plugin(repo=REPO, revision=None):
    base = zoo.get_spec("sd15-tiny")

    class Plugin:
        @zoo.hookimpl
        def register_models(self, register):
            register(base.model_copy(update={"id": "cached-tiny", "family": "cached", "hub_repo": repo,
                                             "revision": revision, "plugin": None}))

    return Plugin()


def test_load_from_hub_cache_offline_matches_saved_model(tmp_path, hf_cache):
    src, pipe = tiny_repo(tmp_path)
    rev = "a" * 40
    write_hf_cache(hf_cache, REPO, src, revision=rev)
    with temporary_plugin(cached_plugin(revision=rev), "cachetest"):
        loaded = zoo.load("cached-tiny")
    assert zoo.spec_of(loaded).id == "cached-tiny"
    for (k, a), b in zip(pipe.unet.state_dict().items(), loaded.unet.state_dict().values()):
        assert torch.equal(a, b), k
    torch.testing.assert_close(unet_output(loaded), unet_output(pipe), rtol=1e-5, atol=1e-5)
    # the text encoder came from the cache too, not from random init
    for (k, a), b in zip(pipe.text_encoder.state_dict().items(), loaded.text_encoder.state_dict().values()):
        assert torch.equal(a, b), k


def test_resolution_order_explicit_then_local_dir(tmp_path, hf_cache, monkeypatch):
    src, _ = tiny_repo(tmp_path)
    write_hf_cache(hf_cache, REPO, src)
    local = tmp_path / "local"
    monkeypatch.setenv("ZOO_MODELS_DIR", str(local))
    with temporary_plugin(cached_plugin(), "cachetest"):
        spec = zoo.get_spec("cached-tiny")
        assert hub.resolve(spec).parts[-3:-1] == ("snapshots", "main") or "snapshots" in str(hub.resolve(spec))
        (local / "cached-tiny").mkdir(parents=True)
        (local / "cached-tiny" / "model_index.json").write_text("{}")
        assert hub.resolve(spec) == local / "cached-tiny"
        assert hub.resolve(spec, weights=src) == src


def test_offline_with_empty_cache_says_what_to_do(hf_cache):
    with temporary_plugin(cached_plugin(), "cachetest"):
        with pytest.raises(WeightsNotFoundError) as e:
            zoo.load("cached-tiny")
    msg = str(e.value)
    assert "HF_HUB_OFFLINE" in msg and "zoo fetch cached-tiny" in msg


def test_model_without_weights_says_how_to_get_them():
    with pytest.raises(WeightsNotFoundError, match="pretrained=False"):
        zoo.load("sd15-tiny")


def test_pickle_only_checkpoint_is_refused(tmp_path):
    src, _ = tiny_repo(tmp_path)
    for st in (src / "unet").glob("*.safetensors"):
        st.unlink()
    torch.save({"w": torch.zeros(1)}, src / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(UnsafeCheckpointError, match="pickle"):
        zoo.load("sd15-tiny", weights=src)
    with pytest.raises(UnsafeCheckpointError):
        zoo.load(f"local-dir:{src}")


def test_corrupt_safetensors_gives_clear_error(tmp_path):
    src, _ = tiny_repo(tmp_path)
    f = next((src / "unet").glob("*.safetensors"))
    f.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CorruptWeightsError, match="unet"):
        zoo.load("sd15-tiny", weights=src)


def test_hash_mismatch_detected(tmp_path):
    out = tmp_path / "pushed"
    from zoo.push import push

    push("sd15-tiny", to=out, pretrained=False)
    f = next((out / "vae").glob("*.safetensors"))
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF  # same size, one byte changed: still parses, but the hash differs
    f.write_bytes(bytes(data))
    with pytest.raises(CorruptWeightsError, match="hash"):
        zoo.load("sd15-tiny", weights=out)


def test_push_to_dir_loads_with_plain_diffusers(tmp_path):
    from diffusers import StableDiffusionPipeline

    from zoo.cards import validate_card
    from zoo.push import push

    torch.manual_seed(1)
    out = tmp_path / "repo"
    push("sd15-tiny", to=out, pretrained=False)
    assert (out / "README.md").exists() and (out / "zoo_spec.json").exists() and (out / "zoo_manifest.json").exists()
    validate_card((out / "README.md").read_text())
    plain = StableDiffusionPipeline.from_pretrained(out, use_safetensors=True)
    via_zoo = zoo.load("sd15-tiny", weights=out)
    via_ref = zoo.load(f"local-dir:{out}")
    torch.testing.assert_close(unet_output(plain), unet_output(via_zoo), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(unet_output(via_ref), unet_output(via_zoo), rtol=1e-5, atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_failed_push_leaves_nothing(tmp_path, monkeypatch):
    from zoo import push as push_mod

    def boom(folder, spec_id=None):
        raise OSError("disk full")

    monkeypatch.setattr(push_mod.hub, "write_manifest", boom)
    with pytest.raises(OSError, match="disk full"):
        push_mod.push("sd15-tiny", to=tmp_path / "repo", pretrained=False)
    assert list(tmp_path.iterdir()) == []


def test_push_without_token_fails_cleanly(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "no-token"))
    env = dict(os.environ, HF_TOKEN_PATH=str(tmp_path / "no-token"))
    env.pop("HF_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "zoo", "push", "sd15-tiny", "--repo", "me/x", "--random-init"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 2
    assert "no Hugging Face token" in out.stderr and "Traceback" not in out.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


def test_push_uploads_one_commit_with_the_layout(tmp_path, monkeypatch):
    """The Hub client is replaced at its boundary: check what would be uploaded."""
    import huggingface_hub

    from zoo import push as push_mod

    FakeApi, calls = fake_hf_api()
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(push_mod.hub, "offline", lambda: False)
    url = push_mod.push("sd15-tiny", repo="me/tiny", pretrained=False, token="hf_x")
    assert url.endswith("/commit/1") and calls["token"] == "hf_x"
    assert calls["create"][0] == "me/tiny"
    assert {"README.md", "model_index.json", "zoo_spec.json", "zoo_manifest.json",
            "unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"} <= set(calls["files"])


def test_unknown_id_cli_exit_code_and_message():
    out = subprocess.run([sys.executable, "-m", "zoo", "info", "sd16"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "unknown model id 'sd16'" in out.stderr and "sd15" in out.stderr and "Traceback" not in out.stderr


def test_bad_dtype_is_a_user_error():
    with pytest.raises(ZooError, match="dtype"):
        zoo.load("sd15-tiny", pretrained=False, dtype="fp12")
