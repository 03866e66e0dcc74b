"""The generic cost suite through zoo.evaluate: records, plugin override, unknown suites."""
import pytest
import torch

import zoo
from zoo import ZooError
from zoo.evaluate import evaluate


def _by(records, metric):
    return {r["component"]: r for r in records if r["metric"] == metric}


def test_cost_of_tiny_model_on_meta_has_counts_only():
    recs = evaluate("sd15-tiny", "cost", meta=True, progress=False)
    comps = {c.name for c in zoo.get_spec("sd15-tiny").components}
    assert set(_by(recs, "params")) == set(_by(recs, "macs")) == comps
    assert not _by(recs, "latency_ms")  # nothing to time on meta
    unet = zoo.build("sd15-tiny").unet
    assert _by(recs, "params")["unet"]["value"] == sum(p.numel() for p in unet.parameters())
    assert _by(recs, "macs_no_attention")["unet"]["value"] < _by(recs, "macs")["unet"]["value"]
    assert all(r["model_id"] == "sd15-tiny" and r["suite"] == "cost" and r["date"] for r in recs)


def test_cost_of_random_init_component_measures_latency_and_memory():
    recs = evaluate("sd15-tiny", "cost", pretrained=False, components=["vae_decoder"], repeats=2, warmup=1,
                    progress=False)
    lat = _by(recs, "latency_ms")["vae_decoder"]
    assert lat["value"] > 0 and lat["unit"] == "ms" and lat["backend"] == "torch"
    assert lat["spread"]["min_ms"] <= lat["value"] <= lat["spread"]["max_ms"]
    assert lat["device"].startswith("CPU")
    assert _by(recs, "peak_memory_mb")["vae_decoder"]["value"] >= 0
    # The decoder's parameters only: the encoder half of the VAE is not counted.
    vae = zoo.build("sd15-tiny").vae
    dec = sum(p.numel() for p in [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()])
    assert _by(recs, "params")["vae_decoder"]["value"] == dec


def test_downscaled_latency_keeps_full_size_counts():
    spec = zoo.get_spec("sd15-tiny")
    recs = evaluate(zoo.build(spec), "cost", components=["vae_encoder"], downscale=2, repeats=1, warmup=0, progress=False)
    macs = _by(recs, "macs")["vae_encoder"]
    assert macs["settings"]["inputs"] == {"sample": "1x3x64x64"}
    assert _by(recs, "latency_ms")["vae_encoder"]["settings"]["inputs"] == {"sample": "1x3x32x32"}


def test_plugin_eval_hook_overrides_the_generic_suite():
    from zoo.plugins import get_plugin_manager

    class Plugin:
        @zoo.hookimpl
        def eval_model(self, spec, model, suite, config):
            if suite != "special":
                return None
            return [{"model_id": spec.id, "suite": suite, "metric": "score", "value": config["k"]}]

    pm = get_plugin_manager()
    pm.register(Plugin(), "evaltest-plugin")
    try:
        spec = zoo.get_spec("sd15-tiny").model_copy(update={"plugin": "evaltest-plugin"})
        model = torch.nn.Identity()
        recs = evaluate(model, "special", spec=spec, k=3)
        assert [(r["metric"], r["value"]) for r in recs] == [("score", 3.0)]
        with pytest.raises(ZooError, match="unknown eval suite 'nonsense'"):
            evaluate(model, "nonsense", spec=spec)
    finally:
        pm.unregister("evaltest-plugin")


def test_model_without_spec_is_refused():
    with pytest.raises(ZooError, match="no zoo spec"):
        evaluate(torch.nn.Identity(), "cost")


def test_onnxruntime_latency_of_a_small_module():
    from zoo.evaluate.latency import onnxruntime_latency

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, image, scale):
            return self.conv(image) * scale

    st = onnxruntime_latency(Net().eval(), {"image": torch.randn(1, 3, 16, 16), "scale": torch.ones(1)}, warmup=1, repeats=3)
    assert st.repeats == 3 and 0 < st.min_ms <= st.median_ms <= st.max_ms


def test_peak_memory_sees_a_known_allocation():
    from zoo.evaluate.latency import peak_memory_mb

    mb = peak_memory_mb(lambda: torch.ones(25_000_000).sum())  # 95.4 MiB of float32
    assert 90 < mb < 110
