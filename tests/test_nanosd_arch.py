"""NanoSD architecture: variant sizes, stage surgery for every option, teacher weight transfer,
the stage interface the distillation engine uses, and the tiny pipeline."""
from __future__ import annotations

import random

import pytest
import torch

import zoo
from zoo_nanosd.choices import (
    NUM_COMBINATIONS, ORIGINAL, combination, options_for, parse_option,
)
from zoo_nanosd.variants import VARIANTS


def _params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _teacher_unet_config(teacher_id: str) -> dict:
    return zoo.get_spec(teacher_id).config["components"]["unet"]["config"]


@pytest.fixture(scope="module")
def tiny_cfg():
    from zoo_nanosd.unet import unet_config_from_teacher_config

    return unet_config_from_teacher_config(_teacher_unet_config("sd15-tiny"))


@pytest.fixture(scope="module")
def tiny_teacher():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(**_teacher_unet_config("sd15-tiny")).eval()


def _inputs(cfg, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = cfg["sample_size"]
    return (torch.randn(batch, 4, s, s, generator=g), torch.tensor([3, 700][:batch]),
            torch.randn(batch, 77, cfg["cross_attention_dim"], generator=g))


# ---------------------------------------------------------------- registry and variant sizes
def test_family_registered_with_alias_and_paper_figures():
    assert set(zoo.list_models("nanosd-*")) == {"nanosd-xs", "nanosd-s", "nanosd-m", "nanosd-l", "nanosd-tiny"}
    assert zoo.get_spec("nanosd-prime").id == "nanosd-m"
    s = zoo.get_spec("nanosd-s")
    assert s.paper.arxiv == "2601.09823" and s.license == "creativeml-openrail-m" and s.hub_repo is None
    assert s.base_model == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert {k: zoo.get_spec(k).reported["npu_latency_ms"] for k in ("nanosd-xs", "nanosd-s", "nanosd-m")} == {
        "nanosd-xs": 27.0, "nanosd-s": 12.0, "nanosd-m": 27.0}
    assert s.choices["stage_choices"].value == VARIANTS["nanosd-s"].stage_choices
    assert s.component("unet").inputs == {"sample": [1, 4, 64, 64], "timestep": [1], "encoder_hidden_states": [1, 77, 768]}


def test_plugin_contract():
    from zoo.testing import check_plugin

    specs = check_plugin("nanosd")  # loads, valid specs, listing imports no torch, tiny builds
    assert {s.id for s in specs} >= {"nanosd-s", "nanosd-tiny"}


@pytest.mark.parametrize("model_id", ["nanosd-xs", "nanosd-s", "nanosd-m", "nanosd-l"])
def test_full_size_unet_params_match_the_paper(model_id):
    from zoo_nanosd.build import build_unet

    with torch.device("meta"):
        unet = build_unet(zoo.get_spec(model_id))
    v = VARIANTS[model_id]
    n = _params(unet) / 1e6
    assert abs(n - v.target_params_m) <= 0.02 * v.target_params_m, (model_id, n)
    assert n == pytest.approx(v.measured_params_m, abs=0.005)  # the table states what the build gives
    assert list(unet.config.block_out_channels) == [320, 640, 1280]


def test_nanosd_l_is_the_3_stage_sd15_unet():
    """523.2M, and the same parameter names and shapes as diffusers' 3-stage UNet2DConditionModel."""
    from diffusers import UNet2DConditionModel
    from zoo_nanosd.build import build_unet

    cfg = dict(_teacher_unet_config("sd15"))
    cfg.update(block_out_channels=cfg["block_out_channels"][:3], down_block_types=["CrossAttnDownBlock2D"] * 3,
               up_block_types=["CrossAttnUpBlock2D"] * 3, mid_block_type=None)
    with torch.device("meta"):
        ours = build_unet(zoo.get_spec("nanosd-l"))
        ref = UNet2DConditionModel(**cfg)
        sd15 = UNet2DConditionModel(**_teacher_unet_config("sd15"))
    assert _params(ours) / 1e6 == pytest.approx(523.2, abs=0.05)
    assert _params(sd15) / 1e6 == pytest.approx(859.52, abs=0.01)
    from zoo_nanosd.unet import surgery

    cut = surgery(sd15)  # full-size surgery on the meta device: names and shapes line up
    assert _params(cut) == _params(ours) and cut.device.type == "meta"
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


def test_pipeline_meta_build_has_nanosd_parts():
    pipe = zoo.build("nanosd-m", device="meta")
    assert type(pipe.unet).__name__ == "NanoSDUNet" and type(pipe.vae).__name__ == "NanoSDTinyVAE"
    assert pipe.vae_scale_factor == 8 and pipe.vae.config.scaling_factor == 0.18215
    assert _params(pipe.text_encoder) / 1e6 == pytest.approx(123.06, abs=0.01)  # SD1.5's CLIP ViT-L/14 text tower


# ---------------------------------------------------------------- search space
def test_options_parse_and_combinations_enumerate():
    assert parse_option("RARA") == (2, (0, 1)) and parse_option("RRA") == (2, (1,)) and parse_option("RAR") == (2, (0,))
    assert NUM_COMBINATIONS == 32768 and combination(0) == ORIGINAL and combination(NUM_COMBINATIONS - 1) == ["R"] * 3 + ["RRR"] * 3
    assert len({tuple(combination(i)) for i in range(0, NUM_COMBINATIONS, 97)}) == len(range(0, NUM_COMBINATIONS, 97))
    with pytest.raises(zoo.ZooError, match="choose one of"):
        from zoo_nanosd.choices import validate_choices

        validate_choices(["RARA", "RARA", "RARARA", "RARARA", "RARARA", "RARARA"])
    with pytest.raises(zoo.ZooError, match="bad stage option"):
        parse_option("ARR")


def _stage_io(cfg, stage_index, batch=1):
    """The original stage's inputs (from an all-original tiny UNet, captured by hooks)."""
    from zoo_nanosd.unet import NanoSDUNet

    torch.manual_seed(0)
    unet = NanoSDUNet(**cfg).eval()
    seen = {}
    unet.stages[stage_index].register_forward_hook(lambda m, a, o: seen.update(args=a, out=o))
    with torch.no_grad():
        unet(*_inputs(cfg, batch))
    return seen["args"], seen["out"]


@pytest.mark.parametrize("stage_index", range(6))
def test_every_option_preserves_its_stage_interface(tiny_cfg, stage_index):
    """Each of the 30 blocks maps the original stage's inputs to outputs of the original shapes,
    skips included; stages are independent, so all 32,768 combinations assemble."""
    from zoo_nanosd.unet import build_stage

    args, out = _stage_io(tiny_cfg, stage_index)
    for option in options_for(stage_index):
        block = build_stage(tiny_cfg, stage_index, option).eval()
        with torch.no_grad():
            got = block(*args)
        if stage_index < 3:
            assert got[0].shape == out[0].shape and [s.shape for s in got[1]] == [s.shape for s in out[1]], option
        else:
            assert got.shape == out.shape, option
        n_res, attn = parse_option(option)
        assert len(block.resnets) == n_res and sorted(int(k) for k in block.attentions) == list(attn)


def _sample_combinations() -> list[list[str]]:
    rng = random.Random(1234)
    combos = [combination(rng.randrange(NUM_COMBINATIONS)) for _ in range(40)]
    smallest = ["R", "R", "R", "R", "R", "R"]
    combos += [list(ORIGINAL), smallest, ["RR"] * 3 + ["RRR"] * 3]
    for i in range(6):  # each stage at each option, the others minimal
        for opt in options_for(i):
            c = list(smallest)
            c[i] = opt
            combos.append(c)
    return combos


def test_sampled_and_extreme_combinations_run(tiny_cfg):
    """40 random combinations (seeded) plus the extremes, each run end to end. The extremes are
    built by the constructor; the rest assemble the 30 pre-built blocks with ``set_stage``
    (the constructor calls the same ``build_stage``), which keeps this test fast."""
    from zoo_nanosd.unet import NanoSDUNet, build_stage

    x, t, ehs = _inputs(tiny_cfg, batch=1)
    blocks = {(i, o): build_stage(tiny_cfg, i, o).eval() for i in range(6) for o in options_for(i)}
    combos = _sample_combinations()
    extremes = [list(ORIGINAL), ["R"] * 6, ["RR"] * 3 + ["RRR"] * 3]
    unet = NanoSDUNet(**tiny_cfg).eval()
    sizes = set()
    for choices in combos:
        if choices in extremes:
            model = NanoSDUNet(**{**tiny_cfg, "stage_choices": choices}).eval()
        else:
            for i, o in enumerate(choices):
                unet.set_stage(i, blocks[(i, o)])
            model = unet
        assert list(model.config.stage_choices) == choices
        with torch.no_grad():
            out = model(x, t[:1], ehs).sample
        assert out.shape == x.shape and torch.isfinite(out).all(), choices
        sizes.add(_params(model))
    assert len(sizes) > 20  # the options really change the network


def test_odd_latent_sizes_forward_upsample_size(tiny_cfg):
    from zoo_nanosd.unet import NanoSDUNet

    unet = NanoSDUNet(**{**tiny_cfg, "stage_choices": ["R", "RA", "RR", "RAR", "R", "RRR"]}).eval()
    with torch.no_grad():
        out = unet(torch.randn(1, 4, 10, 6), 5, torch.randn(1, 77, tiny_cfg["cross_attention_dim"])).sample
    assert out.shape == (1, 4, 10, 6)


def test_params_are_additive_over_stages(tiny_cfg):
    """A combination's size is the stem plus its six blocks (what the variant search sums)."""
    from zoo_nanosd.unet import NanoSDUNet, build_stage

    with torch.device("meta"):
        stem = _params(NanoSDUNet(**tiny_cfg)) - sum(_params(build_stage(tiny_cfg, i, o)) for i, o in enumerate(ORIGINAL))
        for choices in (["RA", "RR", "R", "RRA", "RARA", "RRR"], ["R", "RARA", "RA", "R", "RAR", "RA"]):
            parts = stem + sum(_params(build_stage(tiny_cfg, i, o)) for i, o in enumerate(choices))
            assert parts == _params(NanoSDUNet(**{**tiny_cfg, "stage_choices": choices}))
    assert stem == sum(_params(m) for m in (NanoSDUNet(**tiny_cfg).conv_in, NanoSDUNet(**tiny_cfg).time_embedding)) + \
        2 * tiny_cfg["block_out_channels"][0] + (9 * tiny_cfg["block_out_channels"][0] + 1) * 4


# ---------------------------------------------------------------- teacher weights
def test_from_teacher_original_reproduces_the_3_stage_teacher(tiny_teacher, tiny_cfg):
    """SD1.5 (tiny) with E4/mid/D4 cut by hand into diffusers' own 3-stage UNet gives the same
    output as NanoSDUNet.from_teacher with every block original."""
    from diffusers import UNet2DConditionModel
    from zoo_nanosd.unet import NanoSDUNet

    cfg = dict(_teacher_unet_config("sd15-tiny"))
    cfg.update(block_out_channels=cfg["block_out_channels"][:3], down_block_types=["CrossAttnDownBlock2D"] * 3,
               up_block_types=["CrossAttnUpBlock2D"] * 3, mid_block_type=None)
    ref = UNet2DConditionModel(**cfg).eval()
    src = tiny_teacher.state_dict()
    mapped = {}
    for k in ref.state_dict():
        if k.startswith("up_blocks."):
            _, i, rest = k.split(".", 2)
            mapped[k] = src[f"up_blocks.{int(i) + 1}.{rest}"]
        else:
            mapped[k] = src[k]
    ref.load_state_dict(mapped)
    student = NanoSDUNet.from_teacher(tiny_teacher).eval()
    x, t, ehs = _inputs(tiny_cfg)
    with torch.no_grad():
        torch.testing.assert_close(student(x, t, ehs).sample, ref(x, t, ehs).sample, rtol=0, atol=1e-6)


def test_from_teacher_maps_kept_blocks_by_position(tiny_teacher):
    from zoo_nanosd.unet import NanoSDUNet

    choices = ["R", "RA", "RR", "RRA", "RAR", "RRR"]
    s = NanoSDUNet.from_teacher(tiny_teacher, choices).state_dict()
    t = tiny_teacher.state_dict()
    # D3 "RRA": its transformer follows ResNet 1, so it is the teacher's D3 transformer 1 (teacher up_blocks.1)
    assert torch.equal(s["up_blocks.0.attentions.1.proj_in.weight"], t["up_blocks.1.attentions.1.proj_in.weight"])
    assert not torch.equal(t["up_blocks.1.attentions.0.proj_in.weight"], t["up_blocks.1.attentions.1.proj_in.weight"])
    assert torch.equal(s["up_blocks.1.attentions.0.proj_in.weight"], t["up_blocks.2.attentions.0.proj_in.weight"])
    assert torch.equal(s["up_blocks.2.resnets.2.conv1.weight"], t["up_blocks.3.resnets.2.conv1.weight"])
    assert torch.equal(s["down_blocks.2.resnets.1.conv2.weight"], t["down_blocks.2.resnets.1.conv2.weight"])
    assert not any(k.startswith("mid_block") or "down_blocks.3" in k for k in s)
    assert "down_blocks.2.downsamplers.0.conv.weight" not in s and "down_blocks.0.attentions.0.norm.weight" not in s


def test_staged_teacher_reproduces_full_sd15(tiny_teacher, tiny_cfg):
    from zoo_nanosd.teacher import StagedTeacher

    staged = StagedTeacher(tiny_teacher).eval()
    x, t, ehs = _inputs(tiny_cfg)
    with torch.no_grad():
        torch.testing.assert_close(staged(x, t, ehs).sample, tiny_teacher(x, t, ehs).sample, rtol=0, atol=1e-6)
    assert len(staged.stages) == 6 and staged.stages[2].downsamplers is None  # E3's target stops before E4's input
    assert staged.stages[0].resnets[0] is tiny_teacher.down_blocks[0].resnets[0]  # shared, not copied


def test_teacher_stage_hooks_give_fwgd_pairs_for_students(tiny_teacher, tiny_cfg):
    """Hooks on nanosd-l's stages capture (input, output) pairs; a candidate block trains on the
    same inputs, and the teacher stage alone reproduces its captured output."""
    from zoo_nanosd.teacher import teacher_stages
    from zoo_nanosd.unet import build_stage, surgery

    teacher = surgery(tiny_teacher).eval()
    stages = teacher_stages(teacher)
    seen = {}
    for i, st in enumerate(stages):
        st.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(i, (a, o)))
    with torch.no_grad():
        teacher(*_inputs(tiny_cfg))
    assert sorted(seen) == list(range(6))
    for i, (args, out) in seen.items():
        with torch.no_grad():
            again = stages[i](*args)
            cand = build_stage(teacher.config, i, options_for(i)[-1])(*args)
        flat = lambda o: [o] if torch.is_tensor(o) else [o[0], *o[1]]  # noqa: E731
        for a, b in zip(flat(again), flat(out)):
            assert torch.equal(a, b)
        assert [a.shape for a in flat(cand)] == [b.shape for b in flat(out)]
        loss = sum(torch.nn.functional.mse_loss(a, b) for a, b in zip(flat(cand), flat(out)))
        assert loss > 0


def test_set_stage_swaps_a_trained_block_in(tiny_cfg):
    from zoo_nanosd.unet import NanoSDUNet, build_stage

    unet = NanoSDUNet(**tiny_cfg)
    unet.set_stage(4, build_stage(unet.config, 4, "RR"))
    assert unet.config.stage_choices[4] == "RR" and unet.up_blocks[1].choice == "RR"
    out = unet(*_inputs(tiny_cfg)).sample
    out.mean().backward()
    assert unet.up_blocks[1].resnets[0].conv1.weight.grad is not None


def test_gradient_checkpointing_matches(tiny_cfg):
    from zoo_nanosd.unet import NanoSDUNet

    torch.manual_seed(0)
    unet = NanoSDUNet(**{**tiny_cfg, "stage_choices": ["RA", "R", "RARA", "RRA", "RR", "RARARA"]})
    x, t, ehs = _inputs(tiny_cfg)
    ref = unet(x, t, ehs).sample
    unet.enable_gradient_checkpointing()
    assert unet.down_blocks[0].gradient_checkpointing
    out = unet(x, t, ehs).sample
    torch.testing.assert_close(out, ref)
    out.mean().backward()


def test_save_and_load_round_trip(tiny_cfg, tmp_path):
    from zoo_nanosd.unet import NanoSDUNet

    choices = ["RA", "RARA", "R", "RRA", "RR", "RAR"]
    torch.manual_seed(0)
    unet = NanoSDUNet(**{**tiny_cfg, "stage_choices": choices}).eval()
    unet.save_pretrained(tmp_path / "unet")
    again = NanoSDUNet.from_pretrained(tmp_path / "unet").eval()
    assert list(again.config.stage_choices) == choices
    assert all(torch.equal(a, b) for a, b in zip(unet.state_dict().values(), again.state_dict().values()))
    x, t, ehs = _inputs(tiny_cfg)
    with torch.no_grad():
        torch.testing.assert_close(again(x, t, ehs).sample, unet(x, t, ehs).sample, rtol=0, atol=1e-5)


def test_unsupported_conditioning_is_a_clear_error(tiny_cfg):
    from zoo_nanosd.unet import NanoSDUNet

    unet = NanoSDUNet(**tiny_cfg)
    with pytest.raises(zoo.ZooError, match="class_labels"):
        unet(*_inputs(tiny_cfg), class_labels=torch.tensor([1, 2]))


# ---------------------------------------------------------------- pipeline
def test_tiny_pipeline_generates_an_image(tmp_path):
    from diffusers import StableDiffusionPipeline

    pipe = zoo.build("nanosd-tiny")
    pipe.set_progress_bar_config(disable=True)
    out = pipe("a red bicycle", num_inference_steps=2, height=64, width=64, output_type="np",
               generator=torch.Generator().manual_seed(0))
    assert out.images.shape == (1, 64, 64, 3)
    # plain diffusers reloads it: model_index.json names zoo_nanosd's classes
    pipe.save_pretrained(tmp_path / "p")
    again = StableDiffusionPipeline.from_pretrained(tmp_path / "p")
    assert type(again.unet).__name__ == "NanoSDUNet" and list(again.unet.config.stage_choices) == VARIANTS["nanosd-tiny"].stage_choices


@pytest.mark.slow
def test_variant_table_follows_its_rules():
    """Re-derive xs/s/m from all 32,768 combinations at full size (meta device, ~40 s)."""
    from zoo_nanosd.stage_costs import combination_cost, stage_option_costs
    from zoo_nanosd.variant_rules import derive_variants

    table = stage_option_costs()
    # MACs are additive too: the summed table equals one direct count of a whole UNet
    from torch.utils.flop_counter import FlopCounterMode
    from zoo_nanosd.build import build_unet

    with torch.device("meta"):
        unet = build_unet(zoo.get_spec("nanosd-m"))
        with FlopCounterMode(display=False) as fc:
            unet(torch.empty(1, 4, 64, 64), torch.tensor([1]), torch.empty(1, 77, 768))
    assert combination_cost(table, VARIANTS["nanosd-m"].stage_choices)["macs"] == fc.get_total_flops() // 2
    derived = derive_variants(table)
    for vid, choices in derived.items():
        assert choices == VARIANTS[vid].stage_choices, vid
    for vid in ("nanosd-xs", "nanosd-s", "nanosd-m", "nanosd-l"):
        c = combination_cost(table, VARIANTS[vid].stage_choices)
        assert c["macs"] / 1e9 == pytest.approx(VARIANTS[vid].measured_gmacs, abs=0.05), vid


def test_push_and_load_round_trip(tmp_path):
    """`zoo push --to` writes the NanoSD pipeline in diffusers layout; `zoo.load` reads it back."""
    from zoo.push import push

    torch.manual_seed(3)
    out = tmp_path / "nanosd-tiny"
    push("nanosd-tiny", to=out, pretrained=False)
    assert (out / "unet" / "config.json").exists() and (out / "vae" / "config.json").exists()
    loaded = zoo.load("nanosd-tiny", weights=out)
    reloaded = zoo.load(f"local-dir:{out}")  # the spec travels in zoo_spec.json
    torch.manual_seed(3)
    original = zoo.build("nanosd-tiny")  # the same seeded build that push saved
    for a, b in [(original.unet, loaded.unet), (original.vae, loaded.vae), (loaded.unet, reloaded.unet)]:
        for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), k
    assert type(loaded.unet).__name__ == "NanoSDUNet" and zoo.spec_of(reloaded).id == "nanosd-tiny"
