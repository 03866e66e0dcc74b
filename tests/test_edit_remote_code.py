"""A converted model pushed by the zoo loads with plain diffusers (no zoo installed): the push ships
EDiT's transformer class (models.py + modules.py flattened) and the image matches zoo.load's."""
from __future__ import annotations

import json
import textwrap

import numpy as np

from olah_endpoint import child_env, run_child

PLAIN = textwrap.dedent('''
    import importlib.abc, sys
    class _NoZoo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "zoo" or name.startswith(("zoo.", "zoo_")):
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, _NoZoo())
    import numpy as np, torch
    from diffusers import DiffusionPipeline
    torch.set_num_threads(1)
    pipe = DiffusionPipeline.from_pretrained(SRC, trust_remote_code=True, use_safetensors=True)
    assert "zoo" not in sys.modules and type(pipe.transformer).__name__ == "EDiTPixArtTransformer2DModel"
    pipe.set_progress_bar_config(disable=True)
    img = pipe("a red cube", num_inference_steps=2, height=64, width=64, output_type="np", use_resolution_binning=False,
               generator=torch.Generator().manual_seed(0), max_sequence_length=16).images
    np.save(OUT, img)
''')


def test_pushed_edit_model_loads_with_plain_diffusers(tmp_path):
    import torch

    import zoo
    from zoo.push import push

    src = tmp_path / "repo"
    torch.manual_seed(0)
    push("edit-pixart-sigma-tiny", to=src, pretrained=False)
    index = json.loads((src / "model_index.json").read_text())
    assert index["transformer"][1] == "EDiTPixArtTransformer2DModel"
    pipe = zoo.load(f"local-dir:{src}")
    pipe.set_progress_bar_config(disable=True)
    ref = pipe("a red cube", num_inference_steps=2, height=64, width=64, output_type="np", use_resolution_binning=False,
               generator=torch.Generator().manual_seed(0), max_sequence_length=16).images
    out = tmp_path / "plain.npy"
    run_child(f"SRC = {str(src)!r}\nOUT = {str(out)!r}\n" + PLAIN, child_env("http://127.0.0.1:9", tmp_path / "hf", True))
    assert np.allclose(np.load(out), ref, atol=1e-5)
