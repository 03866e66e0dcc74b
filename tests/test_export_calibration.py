"""Calibration inputs are captured from a real pipeline run, at the spec's static shapes."""
from __future__ import annotations

import torch

import zoo
from zoo.export.calibration import capture


def test_capture_real_component_inputs_from_the_pipeline():
    pipe = zoo.load("sd15-tiny", pretrained=False)
    spec = zoo.get_spec("sd15-tiny")
    got = capture(pipe, spec, spec.components, n_prompts=1, steps=2, progress=False)
    for comp in spec.components:
        assert got[comp.name], comp.name
        for sample in got[comp.name]:
            assert {n: list(t.shape) for n, t in sample.items()} == comp.inputs
    # every UNet call (PNDM makes 3 for 2 steps) gives 2 samples: conditional + unconditional under CFG
    assert len(got["unet"]) >= 4 and len(got["unet"]) % 2 == 0
    assert len(got["text_encoder"]) == 2 and got["text_encoder"][0]["input_ids"].dtype == torch.int64
    ts = sorted(float(s["timestep"]) for s in got["unet"])
    assert ts[0] != ts[-1]  # real scheduler timesteps, not one constant
    assert got["vae_encoder"][0]["sample"].abs().max() <= 1.0  # generated images mapped to [-1, 1]
    # the hooks are gone: the pipeline runs as before
    assert "decode" not in vars(pipe.vae) and not pipe.unet._forward_pre_hooks
