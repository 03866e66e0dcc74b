"""MobilePicasso training: the latent projection learns (loss falls), the hallucination-aware loss
needs an artefact network (refused without one), and the training-pair filter drops the top fraction."""
import json

import pytest
import torch

import zoo
from zoo import ZooError

pytestmark = pytest.mark.filterwarnings("ignore")
PLUGIN = "zoo_mobilepicasso"


def _train(tmp_path, **cfg):
    spec = zoo.get_spec("mobilepicasso-tiny")
    from zoo_mobilepicasso.train import train_mobilepicasso

    out = train_mobilepicasso(spec, {"out_dir": str(tmp_path / "run"), "progress": False, **cfg})
    return out, json.loads((out / "training.json").read_text())


def test_projection_loss_falls_and_saves(tmp_path):
    out, rec = _train(tmp_path, steps=60, count=32, batch_size=8, lr=3e-3)
    losses = rec["losses"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    from zoo_mobilepicasso import LatentProjection

    proj = LatentProjection.from_pretrained(out / "projection")
    assert proj.config.out_channels == 16


def test_hallucination_loss_without_network_is_refused(tmp_path):
    with pytest.raises(ZooError, match="artefact-localisation network") as exc:
        _train(tmp_path, stage="editor", hallucination_weight=0.1)
    assert "\n" not in str(exc.value)
    with pytest.raises(ZooError, match="module:attr"):
        _train(tmp_path, stage="editor", hallucination_weight=0.1, artefact_net="nocolon")


def test_editor_with_hallucination_loss_and_filter(tmp_path):
    out, rec = _train(tmp_path, stage="editor", steps=3, count=20, batch_size=4, hallucination_weight=0.5,
                      artefact_net=f"{PLUGIN}.artefacts:HighFrequencyArtefacts")
    assert rec["pairs"] == 20 and rec["kept_after_filter"] == 17  # 15% of 20 dropped
    assert len(rec["hallucination"]) == 3 and all(h >= 0 for h in rec["hallucination"])
    assert (out / "unet" / "config.json").exists()


def test_filter_drops_the_highest_artefact_ratios():
    from zoo_mobilepicasso.artefacts import filter_pairs

    ratios = torch.tensor([0.1, 0.9, 0.2, 0.8, 0.0, 0.3, 0.4, 0.5, 0.6, 0.7])
    kept = filter_pairs(ratios, 0.2).tolist()
    assert kept == [0, 2, 4, 5, 6, 7, 8, 9]  # the two worst (0.9, 0.8) are gone, order kept
