"""mtu-mini, the trained MTU miniature (mini-edit upcycled, trained on edit + x4 SR + inpainting by
`zoo train mtu-mini`): its shipped weights load offline, the trained routers differ per task, folding
stays exact on trained weights, and on held-out photos it scores as benchmarks/mtu_miniature.py prints
(a few crops here; the benchmark prints the full table)."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo import hub


@pytest.fixture(scope="module")
def mini():
    return zoo.load("mtu-mini", progress=False)


def test_shipped_weights_load_offline_and_are_small(mini):
    spec = zoo.get_spec("mtu-mini")
    assert spec.shipped_weights == "zoo_mtu:weights/mtu-mini"
    folder = hub.resolve(spec)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 5.25e6, size  # a complete pipeline (unet, vae, text encoder) at 4.9 MiB
    record = json.loads((folder / "training.json").read_text())
    assert record["base"] == "mini-edit" and record["base_weights"] is True
    assert type(mini).__name__ == "MTUStableDiffusionPipeline" and mini.tasks == ("edit", "sr", "inpaint")
    assert type(mini.unet).__name__ == "MTUUNet2DConditionModel" and mini.unet.config.mtu_experts == 4


def test_trained_routers_differ_per_task_and_fold_exactly(mini):
    import zoo_mtu
    from zoo_mtu.miniature import router_distances

    assert min(router_distances(mini.unet).values()) > 1e-3
    g = torch.Generator().manual_seed(0)
    x, cond = torch.randn(2, 4, 16, 16, generator=g), torch.randn(2, 4, 16, 16, generator=g)
    emb, t = torch.randn(2, 8, 64, generator=g), torch.tensor([999, 400])
    for task in mini.tasks:
        zoo_mtu.set_task(mini.unet, task, image=cond)
        with torch.no_grad():
            routed = mini.unet(x, t, emb).sample
            folded = zoo_mtu.fold(mini, task)(torch.cat([x, cond], 1), t, emb).sample
        torch.testing.assert_close(folded, routed, rtol=1e-4, atol=1e-5)


def test_heldout_psnr_rises_over_the_upcycled_base_on_every_task(mini):
    """On 10 held-out crops per task (the benchmark uses 30), the trained model beats its step 0 (the
    upcycled mini-edit, which equals mini-edit) on each task: what multi-task training bought."""
    from zoo.proving import edits as E
    from zoo_mtu.miniature import TASKS, heldout, run_mtu

    step0 = zoo.load("mini-edit", techniques={"mtu": {"tasks": list(TASKS)}}, progress=False)
    for task in TASKS:
        ds = heldout(task, 32, 10)
        trained, base = (E.score(run_mtu(p, task, ds), ds)["all"]["psnr"] for p in (mini, step0))
        assert trained > base + MARGIN_DB, (task, trained, base)


MARGIN_DB = 0.3
