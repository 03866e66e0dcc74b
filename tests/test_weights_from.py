"""spec.config["weights_from"]: a model's weight folder ships only its own components; the others load
from another registered model's weights (a frozen base), found the way zoo.load finds that model's."""
import pytest
import torch

import zoo


def _plugin(weights_from):
    base = zoo.get_spec("sd15-tiny").config

    class Plugin:
        @zoo.hookimpl
        def register_models(self, register):
            register(zoo.ModelSpec(id="wf-own", family="wf", summary="s", task="text-to-image",
                                   config={**base, "weights_from": weights_from}))

    return Plugin()


def test_borrowed_components_load_from_the_base_models_weights(tmp_path, monkeypatch, hf_cache):
    from zoo.testing import temporary_plugin

    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path / "models"))
    torch.manual_seed(1)
    base = zoo.build("sd15-tiny")
    base.save_pretrained(tmp_path / "models" / "sd15-tiny")  # the base's weights, where zoo.load finds them
    torch.manual_seed(2)
    own = zoo.build("sd15-tiny")
    own.text_encoder.save_pretrained(tmp_path / "own" / "text_encoder")  # the folder holds only this
    refs = {"unet": "sd15-tiny/unet", "vae": "sd15-tiny/vae", "tokenizer": "sd15-tiny/tokenizer",
            "scheduler": "sd15-tiny"}
    with temporary_plugin(_plugin(refs), "wf-test"):
        pipe = zoo.load("wf-own", weights=tmp_path / "own")
        for name, src in (("unet", base), ("vae", base), ("text_encoder", own)):
            got, want = getattr(pipe, name).state_dict(), getattr(src, name).state_dict()
            assert all(torch.equal(got[k], want[k]) for k in want), name
        spec = zoo.get_spec("wf-own")
    from zoo.loading import load_folder

    partial = spec.model_copy(update={"config": {**spec.config, "weights_from": {"unet": "sd15-tiny/unet"}}})
    with pytest.raises(zoo.WeightsNotFoundError, match="'vae/'"):  # neither shipped nor borrowed: still an error
        load_folder(partial, tmp_path / "own")
    missing = spec.model_copy(update={"config": {**spec.config, "weights_from": {"unet": "no-such-model-zz/unet"}}})
    with pytest.raises(zoo.UnknownModelError):
        load_folder(missing, tmp_path / "own")
