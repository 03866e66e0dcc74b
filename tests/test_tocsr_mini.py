"""tocsr-x4-mini: the spec builds the student the miniature trains; the one-command recipe runs its
three phases end to end (random-init mini-sr-tiny teacher, a few steps: plumbing only, no quality
claim); the shipped weights beat bicubic on held-out photos in one UNet call."""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
import zoo_tocsr
from zoo import ZooError


def test_mini_spec_builds_the_student():
    pipe = zoo.load("tocsr-x4-mini", pretrained=False)
    assert pipe.config.timestep == 49 and pipe.vae.config.latent_channels == 16
    # the spec builds what ships: the blocks the clean run's search picked
    from zoo_tocsr.unet import TOCSRUNet

    shipped = TOCSRUNet.load_config(str(Path(zoo_tocsr.__file__).parent / "weights" / "tocsr-x4-mini" / "unet"))
    assert pipe.unet.config.surrogates == shipped["surrogates"]
    pipe.set_progress_bar_config(disable=True)
    assert pipe(Image.fromarray(np.zeros((8, 12, 3), np.uint8))).images[0].size == (48, 32)


def test_mini_recipe_runs_all_three_phases_and_saves_a_loadable_pipeline(tmp_path):
    """expand (VAE + expanded UNet) -> compact (FwGD blocks + epsilon sweep) -> one-step distil, a few
    steps each: every stage leaves its marker with its time, the front is written, and the saved
    student carries the search's blocks."""
    import json

    from zoo_tocsr.mini import STAGES, MiniConfig, train_mini
    from zoo_tocsr.pipeline import TOCSRPipeline

    cfg = MiniConfig(out_dir=tmp_path / "mini", teacher="mini-sr-tiny", teacher_pretrained=False, teacher_steps=1,
                     count=8, vae_steps=2, expand_steps=2, steps=2, batch_size=2, teacher_weight=0.5,
                     fidelity_count=4, capture={"n_batches": 1, "batch_size": 2}, blocks={"steps": 2},
                     search={"n_trials": 3, "n_startup_trials": 2, "epsilons": [0.5, 1.0], "fidelity": "output_mse",
                             "options": {"resnet": ["R", "R4"], "attention": ["A", "A4", "-"]}}, progress=False)
    folder = train_mini(cfg)
    out = tmp_path / "mini"
    for stage in STAGES:
        done = json.loads((out / f"{stage}.done.json").read_text())
        assert done["wall_s"] >= 0 and done["cpu_s"] >= 0
    assert "down_blocks.0.resnets.0--R4" in json.loads((out / "block" / "blocks" / "summary.json").read_text())
    front = json.loads((out / "search" / "front.json").read_text())
    assert [f["epsilon_rel"] for f in front] == [0.5, 1.0]
    for f in front:
        assert f["arch"] is not None and f["output_mse"] <= f["epsilon"] + 1e-12
    expanded = json.loads((out / "expand.done.json").read_text())["unet_params"]
    mask = os.umask(0)
    os.umask(mask)
    assert {f.stat().st_mode & 0o777 for f in folder.rglob("*") if f.is_file()} == {0o666 & ~mask}  # not 0600
    pipe = TOCSRPipeline.from_pretrained(str(folder))
    picked = {p: o for p, o in json.loads((out / "onestep.done.json").read_text())["surrogates"].items()
              if o not in ("R", "A")}
    assert pipe.unet.config.surrogates == picked
    assert sum(p.numel() for p in pipe.unet.parameters()) == front[0]["params"] <= expanded
    pipe.set_progress_bar_config(disable=True)
    assert pipe(Image.fromarray(np.zeros((16, 16, 3), np.uint8))).images[0].size == (64, 64)
    # resume: a finished run is skipped, not redone
    assert train_mini(cfg.model_copy(update={"resume": True})) == folder


def test_mini_config_errors_are_one_line(tmp_path):
    spec = zoo.get_spec("tocsr-x4-mini")
    from zoo.registry import get_registry  # noqa: F401  (plugins loaded)
    from zoo_tocsr import train_model

    with pytest.raises(ZooError) as e:
        train_model(spec, {"steps": 0})
    assert "\n" not in str(e.value)


def test_shipped_mini_beats_bicubic_on_held_out_photos_in_one_unet_call():
    """The shipped tocsr-x4-mini (weights in zoo_tocsr/weights) against PIL bicubic on held-out photo
    patches (photos never cut into training patches): higher mean PSNR (Y, 4-px border shaved)."""
    from zoo.evaluate.sr import psnr_y
    from zoo.proving.photos import sr_pairs, upscale_batch

    pipe = zoo.load("tocsr-x4-mini")  # offline: the shipped folder
    pipe.set_progress_bar_config(disable=True)
    lr, hr = sr_pairs("test", 64, 24, 4, seed=1)
    calls = []
    hook = pipe.unet.register_forward_hook(lambda *_: calls.append(1))
    out = pipe([Image.fromarray(x) for x in lr]).images
    hook.remove()
    assert len(calls) == 1  # one UNet call for the whole batch: one per image
    import torch

    from zoo.proving.photos import to_tensor, to_uint8

    bic = upscale_batch(lr)
    # the student's own input (torch's bicubic, sharper than PIL's): the one step must add to it too
    own = to_uint8(torch.nn.functional.interpolate(to_tensor(lr), scale_factor=4, mode="bicubic",
                                                   align_corners=False).clamp(-1, 1))
    student = np.mean([psnr_y(np.asarray(o), g, 4) for o, g in zip(out, hr)])
    bicubic = np.mean([psnr_y(b, g, 4) for b, g in zip(bic, hr)])
    own_input = np.mean([psnr_y(b, g, 4) for b, g in zip(own, hr)])
    assert student > bicubic, f"tocsr-x4-mini {student:.2f} dB vs bicubic {bicubic:.2f} dB"
    assert student > own_input, f"tocsr-x4-mini {student:.2f} dB vs its torch-bicubic input {own_input:.2f} dB"
