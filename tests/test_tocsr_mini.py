"""tocsr-x4-mini: the spec builds the student the miniature trains; the one-command recipe runs
end to end (random-init mini-sr-tiny teacher, a few steps: plumbing only, no quality claim)."""
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import ZooError


def test_mini_spec_builds_the_student():
    pipe = zoo.load("tocsr-x4-mini", pretrained=False)
    assert pipe.config.timestep == 49 and pipe.vae.config.latent_channels == 16
    assert pipe.unet.config.surrogates == zoo.get_spec("tocsr-x4-tiny").config["components"]["unet"]["config"]["surrogates"]
    pipe.set_progress_bar_config(disable=True)
    assert pipe(Image.fromarray(np.zeros((8, 12, 3), np.uint8))).images[0].size == (48, 32)


def test_mini_recipe_runs_and_saves_a_loadable_pipeline(tmp_path):
    from zoo_tocsr.mini import MiniConfig, train_mini
    from zoo_tocsr.pipeline import TOCSRPipeline

    cfg = MiniConfig(out_dir=tmp_path / "mini", teacher="mini-sr-tiny", teacher_pretrained=False, teacher_steps=1,
                     count=8, vae_steps=2, steps=2, batch_size=2, teacher_weight=0.5, progress=False)
    folder = train_mini(cfg)
    pipe = TOCSRPipeline.from_pretrained(str(folder))
    # conv_out started at zero and took two steps: it moved
    assert float(pipe.unet.conv_out.weight.detach().abs().max()) > 0
    pipe.set_progress_bar_config(disable=True)
    assert pipe(Image.fromarray(np.zeros((16, 16, 3), np.uint8))).images[0].size == (64, 64)


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
    bic = upscale_batch(lr)
    student = np.mean([psnr_y(np.asarray(o), g, 4) for o, g in zip(out, hr)])
    bicubic = np.mean([psnr_y(b, g, 4) for b, g in zip(bic, hr)])
    assert student > bicubic, f"tocsr-x4-mini {student:.2f} dB vs bicubic {bicubic:.2f} dB"
