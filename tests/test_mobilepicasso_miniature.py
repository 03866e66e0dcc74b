"""mobilepicasso-mini: the shipped folder holds only the trained projection; the editor and upscaler are
mini-edit's and tocsr-x4-mini's shipped weights; the miniature benchmark's code runs on a few held-out edits."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo

pytestmark = pytest.mark.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import mobilepicasso_miniature
    finally:
        sys.path.pop(0)
    return mobilepicasso_miniature


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_ships_only_the_projection_and_references_its_bases():
    from zoo.hub import shipped_folder

    folder = shipped_folder(zoo.get_spec("mobilepicasso-mini"))
    assert folder is not None and sorted(p.name for p in folder.iterdir()) == ["projection", "training.json"]
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 1_000_000
    pipe = zoo.load("mobilepicasso-mini")
    edit, sr = zoo.load("mini-edit"), zoo.load("tocsr-x4-mini")
    assert _same(pipe.unet, edit.unet) and _same(pipe.vae, edit.vae) and _same(pipe.text_encoder, edit.text_encoder)
    assert _same(pipe.sr_unet, sr.unet) and _same(pipe.sr_vae, sr.vae)
    assert pipe.projection.conv_out.weight.abs().sum() > 0  # trained (it starts at zero)
    record = json.loads((folder / "training.json").read_text())
    losses = record["losses"]
    assert np.mean(losses[-50:]) < 0.5 * np.mean(losses[:50])  # the projection's loss fell
    assert record["heldout_mse_end"] < record["heldout_mse_start"]


def test_shipped_projection_was_trained_against_the_shipped_bases():
    """The projection maps mini-edit's latent onto tocsr-x4-mini's: if either base's shipped weights change,
    it must be retrained (`zoo train mobilepicasso-mini --stage projection`) and shipped again. Its held-out
    MSE with the bases as shipped now must be the one its training recorded."""
    from zoo.hub import shipped_folder
    from zoo_mobilepicasso.train import heldout_pairs

    record = json.loads((shipped_folder(zoo.get_spec("mobilepicasso-mini")) / "training.json").read_text())
    pipe = zoo.load("mobilepicasso-mini")
    cfg = record["config"]
    x, y = heldout_pairs(pipe, cfg["patch"] or int(pipe.config.edit_size), cfg["seed"])
    with torch.no_grad():
        mse = float(torch.nn.functional.mse_loss(pipe.projection(x), y))
    assert mse == pytest.approx(record["heldout_mse_end"], rel=1e-3), "retrain the projection: its bases changed"


def test_miniature_benchmark_on_a_few_held_out_edits(bench):
    torch.set_num_threads(1)
    res = bench.evaluate(bench.load(), count=3, batch=3, progress=False)
    assert res["count"] == 3 and res["size"] == 4 * res["edit_size"] == 128
    for k in ("A", "B", "R"):
        assert 5 < res["scores"][k]["all"]["psnr"] < 60
    assert all(t > 0 for t in res["median_batch_s"].values())
