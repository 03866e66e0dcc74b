"""A zoo repo loads with plain diffusers, no zoo installed: `zoo push` ships the modelling code
of classes diffusers lacks in their component folders (zoo.remote_code), and
`DiffusionPipeline.from_pretrained(DIR_OR_REPO, trust_remote_code=True)` gives the same images
as `zoo.load`, from a folder and from a Hub repo served over HTTP (olah on loopback)."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from olah_endpoint import child_env, commit_repo, olah_cli, run_child, serve

ORG, NAME = "zoo-test", "nanosd-tiny"
# Runs in a child where importing zoo (or any zoo_* plugin) fails, as on a machine without it.
PLAIN = textwrap.dedent('''
    import importlib.abc, sys
    class _NoZoo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "zoo" or name.startswith(("zoo.", "zoo_")):
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, _NoZoo())
    try:
        import zoo
        raise SystemExit("zoo is importable in the child")
    except ImportError:
        pass
    import numpy as np, torch
    from diffusers import DiffusionPipeline
    torch.set_num_threads(1)
    for ref, kw, out in LOADS:  # a folder, then (with olah) a Hub repo over HTTP
        pipe = DiffusionPipeline.from_pretrained(ref, trust_remote_code=True, use_safetensors=True, **kw)
        assert "zoo" not in sys.modules
        assert type(pipe.unet).__name__ == "NanoSDUNet" and type(pipe.vae).__name__ == "NanoSDTinyVAE"
        pipe.set_progress_bar_config(disable=True)
        img = pipe("a red cube on a table", num_inference_steps=2, height=64, width=64, output_type="np",
                   generator=torch.Generator().manual_seed(0)).images
        np.save(out, img)
''')


def _image(pipe):
    import torch

    pipe.set_progress_bar_config(disable=True)
    return pipe("a red cube on a table", num_inference_steps=2, height=64, width=64, output_type="np",
                generator=torch.Generator().manual_seed(0)).images


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """nanosd-tiny pushed to MIRRORS/models/ORG/NAME (the layout olah serves), and zoo.load's image of it."""
    import torch

    import zoo
    from zoo.push import push

    base = tmp_path_factory.mktemp("remote-code")
    src = base / "mirrors" / "models" / ORG / NAME
    torch.manual_seed(0)
    push("nanosd-tiny", to=src, pretrained=False)
    ref = _image(zoo.load(f"local-dir:{src}"))
    return {"base": base, "src": src, "reference": ref}


def _plain(loads: list, env: dict) -> None:
    run_child(f"LOADS = {loads!r}\n" + PLAIN, env, timeout=300)


def test_push_ships_component_code(pushed):
    src = pushed["src"]
    index = json.loads((src / "model_index.json").read_text())
    assert index["unet"] == ["zoo_nanosd_unet", "NanoSDUNet"] and (src / "unet" / "zoo_nanosd_unet.py").is_file()
    assert index["vae"] == ["zoo_nanosd_vae", "NanoSDTinyVAE"] and (src / "vae" / "zoo_nanosd_vae.py").is_file()
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"]  # stock classes ship no code
    code = (src / "unet" / "zoo_nanosd_unet.py").read_text()
    assert "import zoo" not in code and "from zoo" not in code and "from ." not in code
    manifest = json.loads((src / "zoo_manifest.json").read_text())["files"]
    assert "unet/zoo_nanosd_unet.py" in manifest  # hashed like the weights
    assert "trust_remote_code=True" in (src / "README.md").read_text()


def test_plain_diffusers_loads_folder_and_hub_repo_without_zoo(pushed, tmp_path):
    """One child without the zoo loads the pushed folder and, when olah is installed, the same
    repo served over HTTP; both give zoo.load's image."""
    import numpy as np

    folder_out, hub_out = str(tmp_path / "folder.npy"), str(tmp_path / "hub.npy")
    loads = [(str(pushed["src"]), {}, folder_out)]
    if olah_cli() is None:
        _plain(loads, child_env("http://127.0.0.1:9", tmp_path / "hf", offline=True))
    else:
        sha = commit_repo(pushed["src"], "nanosd-tiny")
        with serve(pushed["base"], f"{ORG}/{NAME}", sha) as url:
            _plain(loads + [(f"{ORG}/{NAME}", {"revision": "main"}, hub_out)], child_env(url, tmp_path / "hf"))
        np.testing.assert_allclose(np.load(hub_out), pushed["reference"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.load(folder_out), pushed["reference"], rtol=0, atol=1e-5)


def _module(tmp_path: Path, monkeypatch, files: dict[str, str]):
    pkg = tmp_path / "zoo_rc_example"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in [m for m in sys.modules if m.startswith("zoo_rc_example")]:
        monkeypatch.delitem(sys.modules, m)
    import importlib

    return importlib.import_module("zoo_rc_example.model")


def test_bundle_flattens_relative_imports_and_zoo_errors(tmp_path, monkeypatch):
    from zoo.remote_code import bundle_source

    mod = _module(tmp_path, monkeypatch, {
        "helpers": "from zoo import ZooError\nWIDTH = 3\ndef check(x):\n    if x < 0:\n        raise ZooError('negative')\n    return x\n",
        "model": "from __future__ import annotations\nimport torch\nfrom .helpers import WIDTH, check as checked\n"
                 "class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                 "        from .helpers import WIDTH as w\n        self.lin = torch.nn.Linear(checked(w), WIDTH)\n",
    })
    src = bundle_source(mod.Net)
    assert src.index("WIDTH = 3") < src.index("class Net") and "from ." not in src and "zoo import" not in src
    scope: dict = {}
    exec(compile(src, "bundle.py", "exec"), scope)
    assert scope["Net"]().lin.in_features == 3
    with pytest.raises(ValueError, match="negative"):  # the zoo's errors are ValueErrors without it
        scope["check"](-1)


@pytest.mark.parametrize("line", ["from zoo.building import build_pipeline", "import requests_toolbelt_not_allowed",
                                  "from zoo import get_spec"])
def test_bundle_refuses_what_a_zoo_less_machine_lacks(tmp_path, monkeypatch, line):
    from zoo.remote_code import NotSelfContainedError, bundle_source

    mod = _module(tmp_path, monkeypatch, {"model": f"def f():\n    {line}\nclass Net:\n    pass\n"})
    with pytest.raises(NotSelfContainedError, match="model-class module may"):
        bundle_source(mod.Net)


def test_zoo_load_of_a_pushed_folder_skips_the_build(pushed, monkeypatch):
    """The fast path: components load by class from model_index.json (the plugin's classes via
    _zoo_classes); building the model first would cost as much as loading it again."""
    import zoo
    from zoo import loading

    monkeypatch.setattr(loading, "build", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built")))
    pipe = zoo.load(f"local-dir:{pushed['src']}")
    assert type(pipe.unet).__module__ == "zoo_nanosd.unet" and zoo.spec_of(pipe).id == "nanosd-tiny"
    assert not pipe.unet.training and pipe.config.requires_safety_checker is False
