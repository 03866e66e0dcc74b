"""Attention-map reuse technique: plumbing on tiny random models (sd15-tiny UNet, PixArt-tiny
transformer). Quality claims live in tests/test_attention_reuse_mini.py and benchmarks/."""
import numpy as np
import pytest
import torch

import zoo

STEPS = 8


@pytest.fixture(scope="module")
def sd():
    from diffusers import DDIMScheduler

    pipe = zoo.load("sd15-tiny", pretrained=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)  # T = STEPS denoiser calls
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _latents(pipe, prompt="a red car", steps=STEPS):
    """Final image and the latents after every step (same seed every call)."""
    seen = []

    def grab(p, i, t, kw):
        seen.append(kw["latents"].clone())
        return kw

    img = pipe(prompt, num_inference_steps=steps, generator=torch.Generator().manual_seed(0), output_type="np",
               callback_on_step_end=grab).images
    return img, seen


def _with(pipe, config):
    import zoo_attnreuse

    zoo_attnreuse.apply(pipe, config, model_id="sd15-tiny")
    try:
        return _latents(pipe)
    finally:
        zoo_attnreuse.remove(pipe)


def test_plugin_contract():
    from zoo.testing import check_plugin

    check_plugin("attention-reuse")  # loads, technique declared with its hooks, listing imports no torch


def test_registered_and_applied_through_zoo_load():
    import zoo_attnreuse

    assert "attention-reuse" in zoo.list_techniques("sd15-tiny")
    assert "attention-reuse" in zoo.list_techniques("pixart-sigma-tiny")
    t = zoo.get_registry().technique("attention-reuse")
    assert t.recipes == ["phast"] and t.paper.arxiv == "2401.01008"
    pipe = zoo.load("sd15-tiny", pretrained=False, techniques={"attention-reuse": {"policy": "hurry", "reuse": 3}})
    ctrl = zoo_attnreuse.controller_of(pipe)
    assert ctrl is not None and ctrl.model_id == "sd15-tiny" and len(ctrl.originals) == 32  # 16 self + 16 cross


def test_all_compute_schedule_is_bit_identical_to_stock(sd):
    stock, stock_lat = _latents(sd)
    procs = dict(sd.unet.attn_processors)
    img, lat = _with(sd, {"policy": "none"})
    assert np.array_equal(img, stock) and all(torch.equal(a, b) for a, b in zip(lat, stock_lat))
    # removed: the very same processor objects are back
    assert all(sd.unet.attn_processors[k] is v for k, v in procs.items())
    assert np.array_equal(_latents(sd)[0], stock)


@pytest.mark.parametrize("caching_output", ["sdpa", "map"])
def test_hurry_changes_nothing_before_step_t_minus_k(sd, caching_output):
    import zoo_attnreuse

    k = 3
    _, stock = _latents(sd)
    zoo_attnreuse.apply(sd, {"policy": "hurry", "reuse": k, "caching_output": caching_output})
    try:
        ctrl = zoo_attnreuse.controller_of(sd)
        _, lat = _latents(sd)
        modes = [set(step.values()) for step in ctrl.trace]
    finally:
        zoo_attnreuse.remove(sd)
    assert ctrl.reuse_steps() == [5, 6, 7]
    assert modes == [{"compute"}] * (STEPS - k - 1) + [{"cache"}] + [{"reuse"}] * k
    # 'sdpa': the caching step's output is the stock kernel's, so every step before T-k is exact;
    # 'map' forms out = A V on the caching step: exact up to it, float rounding there.
    exact = STEPS - k if caching_output == "sdpa" else STEPS - k - 1
    assert all(torch.equal(lat[i], stock[i]) for i in range(exact))
    if caching_output == "map":
        torch.testing.assert_close(lat[exact], stock[exact], rtol=1e-4, atol=1e-5)
    assert not any(torch.equal(lat[i], stock[i]) for i in range(STEPS - k, STEPS))


def test_reuse_step_skips_q_and_k_and_recomputes_v(sd):
    import zoo_attnreuse

    calls = {"to_q": [], "to_k": [], "to_v": []}
    layer = sd.unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1
    hooks = [getattr(layer, n).register_forward_hook(lambda m, a, o, n=n: calls[n].append(ctrl.step)) for n in calls]
    ctrl = zoo_attnreuse.apply(sd, {"policy": "steps", "steps": [2, 3, 6]})
    try:
        _latents(sd)
    finally:
        zoo_attnreuse.remove(sd)
        for h in hooks:
            h.remove()
    assert calls["to_q"] == calls["to_k"] == [0, 1, 4, 5, 7]
    assert calls["to_v"] == list(range(STEPS))


def test_reused_map_times_fresh_v_reproduces_the_layer_on_unchanged_inputs(sd):
    """On a bare UNet, call 1 reuses call 0's maps with identical inputs: A V must give the same output."""
    import zoo_attnreuse

    unet = sd.unet
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    ctx = torch.randn(2, 77, 32, generator=torch.Generator().manual_seed(2))
    ctrl = zoo_attnreuse.apply(unet, {"policy": "steps", "steps": [1]}, model_id="sd15-tiny")
    try:
        with pytest.raises(zoo.ZooError, match="begin"):
            unet(x, 10, ctx)
        ctrl.begin(2)
        with torch.no_grad():
            a = unet(x, 10, ctx).sample
            assert len(ctrl.cache) == 32 and ctrl.cache_bytes() == ctrl.peak_bytes > 0
            b = unet(x, 10, ctx).sample
            assert ctrl.cache == {}  # maps freed after the run's last call
            with pytest.raises(zoo.ZooError, match="called 3 times in a run of 2"):
                unet(x, 10, ctx)
    finally:
        zoo_attnreuse.remove(unet)
    assert [set(s.values()) for s in ctrl.trace[:2]] == [{"cache"}, {"reuse"}]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_cross_only_toggle_wraps_cross_attention_and_caches_less(sd):
    import zoo_attnreuse

    peaks = {}
    for which in ("both", "cross", "self"):
        ctrl = zoo_attnreuse.apply(sd, {"reuse": 3, "attention": which})
        kinds = {m.is_cross_attention for m, _ in ctrl.originals.values()}
        try:
            _latents(sd)
            peaks[which] = ctrl.peak_bytes
        finally:
            zoo_attnreuse.remove(sd)
        assert kinds == {"both": {True, False}, "cross": {True}, "self": {False}}[which]
    # (at 8x8 latents 64 queries meet 77 text keys; at 64x64, 4096 meet 77 and cross-only is the small cache)
    assert peaks["cross"] > 0 and peaks["self"] > 0 and peaks["both"] == peaks["cross"] + peaks["self"]


def test_per_layer_schedule_overrides_the_default(sd):
    import zoo_attnreuse

    ctrl = zoo_attnreuse.apply(sd, {"policy": "none", "layers": {"up_blocks.*attn1": {"policy": "hurry", "reuse": 2}}})
    try:
        _latents(sd)
    finally:
        zoo_attnreuse.remove(sd)
    reusing = {n for n, m in ctrl.masks.items() if m}
    assert reusing and all(n.startswith("up_blocks.") and n.endswith("attn1") for n in reusing)
    assert all(ctrl.masks[n] == frozenset({6, 7}) for n in reusing)


def test_transformer_pipeline_bit_identical_and_reusing():
    import zoo_attnreuse
    from zoo_attnreuse import harness

    pipe = zoo.load("pixart-sigma-tiny", pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    conds = ["a red car", "a cat"]
    kw = dict(size=64, use_resolution_binning=False)
    stock = harness.render(pipe, conds, 0, STEPS, **kw)
    ctrl = zoo_attnreuse.apply(pipe, {"policy": "none"})
    assert np.array_equal(harness.render(pipe, conds, 0, STEPS, **kw), stock)
    ctrl.cfg = zoo_attnreuse.parse_config({"policy": "hurry", "reuse": 4})
    reused = harness.render(pipe, conds, 0, STEPS, **kw)
    zoo_attnreuse.remove(pipe)
    assert ctrl.reuse_steps() == [4, 5, 6, 7] and ctrl.peak_bytes > 0
    assert not np.array_equal(reused, stock)
    assert np.array_equal(harness.render(pipe, conds, 0, STEPS, **kw), stock)


@pytest.mark.parametrize("config, match", [
    ({"polcy": "hurry"}, "polcy"),
    ({"policy": "fast"}, "policy"),
    ({"policy": "steps", "steps": [0, 3]}, "step 0 must compute"),
    ({"policy": "hurry", "reuse": STEPS}, "between 0 and 7"),
    ({"policy": "phast", "reuse": 4}, "zoo train sd15-tiny --recipe phast"),
])
def test_bad_options_are_one_line_user_errors(sd, config, match):
    import zoo_attnreuse

    with pytest.raises(zoo.ZooError, match=match) as err:
        zoo_attnreuse.apply(sd, config, model_id="sd15-tiny")
        try:
            _latents(sd)
        finally:
            zoo_attnreuse.remove(sd)
    assert "\n" not in str(err.value)
    assert zoo_attnreuse.controller_of(sd) is None


def test_applying_twice_is_refused(sd):
    import zoo_attnreuse

    zoo_attnreuse.apply(sd, {})
    try:
        with pytest.raises(zoo.ZooError, match="already applied"):
            zoo_attnreuse.apply(sd, {})
    finally:
        zoo_attnreuse.remove(sd)


def test_image_to_image_run_counts_only_the_calls_left_after_strength(sd):
    import zoo_attnreuse
    from diffusers import StableDiffusionImg2ImgPipeline

    i2i = StableDiffusionImg2ImgPipeline(**sd.components)
    i2i.set_progress_bar_config(disable=True)
    ctrl = zoo_attnreuse.apply(i2i, {"policy": "hurry", "reuse": 2})
    try:
        i2i("a cat", image=torch.rand(1, 3, 64, 64), strength=0.5, num_inference_steps=STEPS, output_type="np",
            generator=torch.Generator().manual_seed(0))
    finally:
        zoo_attnreuse.remove(i2i)
    assert ctrl.total == STEPS // 2 and ctrl.reuse_steps() == [2, 3]
    assert [set(s.values()) for s in ctrl.trace] == [{"compute"}, {"cache"}, {"reuse"}, {"reuse"}]


def test_applies_to_every_tiny_model_it_declares():
    """Every -tiny model the technique claims has diffusers attention layers it wraps (and unwraps)."""
    import zoo_attnreuse

    t = zoo.get_registry().technique("attention-reuse")
    ids = [m for m in zoo.list_models("*-tiny") if t.applies(zoo.get_spec(m))]
    assert {"sd15-tiny", "nanosd-tiny", "pixart-sigma-tiny", "mini-sd-tiny", "mini-pixart-tiny"} <= set(ids)
    for mid in ids:
        pipe = zoo.build(mid)
        ctrl = zoo_attnreuse.apply(pipe, {}, model_id=mid)
        assert ctrl.originals and not ctrl.skipped, mid
        zoo_attnreuse.remove(pipe)
        assert zoo_attnreuse.controller_of(pipe) is None
