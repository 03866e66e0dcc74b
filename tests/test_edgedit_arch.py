"""EdgeDiT architecture: the search space, the heterogeneous model class, conversion from
diffusers' DiT (shared embedder), reduced-block initialisation, and the variants' cost at full
size on the meta device (params and MACs within 2% of the paper)."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo_edgedit.convert import compose_narrow, from_dit, from_teacher, reduced_block
from zoo_edgedit.space import (
    MERGE, arch_to_blocks, block_options, blocks_to_arch, canonical, proxies, search_space,
)

TINY_DIT = {"num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 4, "out_channels": 8, "num_layers": 4,
            "sample_size": 8, "patch_size": 2}
NARROW_TINY = {"narrow_heads": 1, "narrow_head_dim": 4}


def tiny_dit(seed: int = 0, shared: bool = True):
    """A random diffusers DiT whose per-block embedders are copies of block 0's, as in the
    converted facebook/DiT-XL-2-256 checkpoint."""
    from diffusers import DiTTransformer2DModel

    torch.manual_seed(seed)
    dit = DiTTransformer2DModel(**TINY_DIT).eval()
    if shared:
        sd = dit.state_dict()
        with torch.no_grad():
            for k, v in sd.items():
                if ".norm1.emb." in k and not k.startswith("transformer_blocks.0."):
                    v.copy_(sd["transformer_blocks.0." + k.split(".", 2)[2]])
    return dit


def _inputs(batch: int = 2, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 4, 8, 8, generator=g), torch.tensor([3, 700][:batch]), torch.tensor([5, 11][:batch]))


def test_space_counts_match_the_paper():
    space = search_space(28)
    assert len(space) == 28  # the 28-D relaxation
    assert sum(MERGE in o for o in space.values()) == 14
    props = proxies(28)
    assert len(props) == 70
    assert sum(c == MERGE for _, c in props) == 14 and sum(c != MERGE for _, c in props) == 56
    assert block_options(27, 28) == ("full", "half-mlp", "narrow-attn", "narrow")


def test_arch_blocks_round_trip_and_canonical_form():
    arch = [MERGE, "narrow", "half-mlp", "narrow-attn", MERGE, "full"]
    blocks = arch_to_blocks(arch, 6, heads=2, head_dim=8, **NARROW_TINY)
    assert [b["source"] for b in blocks] == [0, 2, 3, 4] and [b["span"] for b in blocks] == [2, 1, 1, 2]
    back = blocks_to_arch(blocks, 6, heads=2, head_dim=8)
    assert tuple(back) == canonical(arch, 6) == (MERGE, "full", "half-mlp", "narrow-attn", MERGE, "full")
    with pytest.raises(zoo.ZooError, match="no option"):
        arch_to_blocks(["full", MERGE, "full", "full"], 4, heads=2, head_dim=8)  # merge on a second block


def test_all_original_conversion_reproduces_diffusers_dit():
    dit = tiny_dit()
    edge = from_dit(dit)
    x, t, y = _inputs()
    with torch.no_grad():
        want = dit(x, t, y).sample
        got = edge(x, t, y).sample
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    # one embedder instead of four: the difference is exactly three embedders
    emb = sum(v.numel() for k, v in dit.state_dict().items() if k.startswith("transformer_blocks.0.norm1.emb."))
    assert sum(p.numel() for p in dit.parameters()) - sum(p.numel() for p in edge.parameters()) == 3 * emb


def test_embedders_that_differ_are_refused_when_shared_or_kept_per_block():
    dit = tiny_dit(shared=False)  # a DiT trained with the stock class: its per-block embedders drift apart
    with pytest.raises(zoo.ZooError, match="embedder differs"):
        from_dit(dit, embedders="shared")
    edge = from_dit(dit)  # auto: diffusers' layout kept, outputs reproduced
    assert edge.config.per_block_embedders
    x, t, y = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(edge(x, t, y).sample, dit(x, t, y).sample, rtol=0, atol=1e-6)
    blocks = arch_to_blocks([MERGE, "full", "narrow", "half-mlp"], 4, heads=2, head_dim=8, **NARROW_TINY)
    student = from_teacher(edge, blocks)
    with torch.no_grad():
        assert student(x, t, y).sample.shape == (2, 8, 8, 8)


def test_reduced_blocks_and_composition():
    teacher = from_dit(tiny_dit())
    wide = {"source": 1, "span": 1, "mlp_ratio": 4.0, "heads": 2, "head_dim": 8}
    same = reduced_block(teacher, wide)
    for k, v in same.state_dict().items():
        assert torch.equal(v, teacher.state_dict()[f"transformer_blocks.1.{k}"])
    narrow = reduced_block(teacher, {**wide, "heads": 1, "head_dim": 4, "mlp_ratio": 2.0})
    assert narrow.attn1.to_q.weight.shape == (4, 16) and narrow.attn1.to_out[0].weight.shape == (16, 4)
    assert narrow.ff.net[0].proj.weight.shape == (32, 16)
    attn = reduced_block(teacher, {**wide, "heads": 1, "head_dim": 4})
    mlp = reduced_block(teacher, {**wide, "mlp_ratio": 2.0})
    composed = compose_narrow(attn, mlp)
    for k, v in narrow.state_dict().items():  # slicing is per part: composing the two gives the same block
        assert torch.equal(v, composed.state_dict()[k]), k
    h, emb = torch.randn(2, 16, 16), torch.randn(2, 16)
    assert narrow(h, emb).shape == h.shape


def test_student_from_teacher_runs_and_round_trips(tmp_path):
    from zoo_edgedit import EdgeDiTTransformer2DModel

    teacher = from_dit(tiny_dit())
    blocks = arch_to_blocks([MERGE, "full", "narrow", "half-mlp"], 4, heads=2, head_dim=8, **NARROW_TINY)
    student = from_teacher(teacher, blocks).eval()
    assert len(student.transformer_blocks) == 3
    # the merged block starts as the pair's first block
    for k, v in student.transformer_blocks[0].state_dict().items():
        assert torch.equal(v, teacher.transformer_blocks[0].state_dict()[k])
    student.save_pretrained(tmp_path / "s", safe_serialization=True)
    again = EdgeDiTTransformer2DModel.from_pretrained(tmp_path / "s").eval()
    x, t, y = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(again(x, t, y).sample, student(x, t, y).sample)


def test_plugin_contract_and_tiny_pipeline():
    from zoo.testing import check_plugin

    def run(spec, pipe):
        out = pipe(class_labels=[1, 2], num_inference_steps=2, output_type="np")
        assert out.images.shape == (2, 64, 64, 3)

    specs = check_plugin("edgedit", run_tiny=run)
    assert {s.id for s in specs} >= {"edgedit-teacher", "edgedit-1", "edgedit-6", "edgedit-tiny"}


@pytest.mark.parametrize("model_id", ["edgedit-teacher", "edgedit-1", "edgedit-6"])
def test_full_size_cost_within_2_percent_of_the_paper(model_id):
    import zoo.evaluate

    spec = zoo.get_spec(model_id)
    recs = zoo.evaluate.evaluate(model_id, "cost", meta=True, latency=False, components=["transformer"], progress=False)
    got = {r["metric"]: r["value"] for r in recs}
    assert got["params"] / 1e6 == pytest.approx(spec.reported["transformer_params_m"], rel=0.02)
    paper_gflops = {"edgedit-teacher": 237.34, "edgedit-1": 143.96, "edgedit-6": 169.97}[model_id]
    assert 2 * spec.reported["transformer_gmacs"] == pytest.approx(paper_gflops)
    assert 2 * got["macs"] / 1e9 == pytest.approx(paper_gflops, rel=0.02)
    assert "block_choices" in spec.choices  # the zoo's per-block choices, named as such in the card
    from zoo_edgedit.variants import VARIANTS

    measured = VARIANTS[model_id].measured  # the figures the variant table and its docstring state
    assert got["params"] / 1e6 == pytest.approx(measured["transformer_params_m"], abs=0.01)
    assert got["macs"] / 1e9 == pytest.approx(measured["transformer_gmacs"], abs=0.01)


@pytest.mark.slow
def test_full_size_conversion_reproduces_dit_xl_2():
    from diffusers import DiTTransformer2DModel

    cfg = zoo.get_spec("dit-xl-2-256").config["components"]["transformer"]["config"]
    torch.manual_seed(0)
    dit = DiTTransformer2DModel(**cfg).eval()
    sd = dit.state_dict()
    with torch.no_grad():
        for k, v in sd.items():
            if ".norm1.emb." in k and not k.startswith("transformer_blocks.0."):
                v.copy_(sd["transformer_blocks.0." + k.split(".", 2)[2]])
    edge = from_dit(dit)
    assert sum(p.numel() for p in edge.parameters()) / 1e6 == pytest.approx(675.0, rel=0.002)
    x = torch.randn(1, 4, 32, 32)
    t, y = torch.tensor([500]), torch.tensor([207])
    with torch.no_grad():
        torch.testing.assert_close(edge(x, t, y).sample, dit(x, t, y).sample, rtol=1e-4, atol=1e-4)
