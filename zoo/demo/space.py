"""Hugging Face Space folders for the demos: app.py, README.md (Space YAML) and requirements.txt.

The Space runs the same registry-driven task app as `zoo demo`, with one model preselected
(its weights preloaded into the Space's Hub cache at the spec's pinned revision).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

from ..errors import HubAuthError, ZooError
from ..registry import get_spec, list_models
from ..specs import ModelSpec

TASK_META = {  # emoji, colours, short description (<= 60 chars, the Hub's limit)
    "text-to-image": ("🎨", "indigo", "pink", "Efficient on-device text-to-image diffusion"),
    "super-resolution": ("🔍", "green", "blue", "Efficient diffusion super-resolution"),
    "image-editing": ("🖌️", "yellow", "red", "Efficient instruction-based image editing"),
    "class-conditional-generation": ("🧩", "purple", "blue", "Efficient class-conditional image diffusion (DiT)"),
}
SHORT_DESCRIPTION_MAX = 60
# Files a diffusers-layout component keeps its weights in, by the library of its class.
_WEIGHT_FILE = {"diffusers": "diffusion_pytorch_model.safetensors", "transformers": "model.safetensors"}
_SHARDED = {"T5EncoderModel"}  # multi-GB encoders the Hub repos store as model-0000x-of-0000n shards
_TOKENIZER_FILES = {
    "CLIPTokenizer": ["tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"],
    "T5TokenizerFast": ["tokenizer_config.json", "special_tokens_map.json", "spiece.model"],
}


def zoo_requirement() -> str:
    """The requirement line that installs the zoo in the Space (ZOO_SPACE_REQUIREMENT overrides,
    e.g. ``ondevice-diffusion-zoo @ git+https://github.com/ORG/REPO@SHA``)."""
    from .. import __version__

    return os.environ.get("ZOO_SPACE_REQUIREMENT") or f"ondevice-diffusion-zoo=={__version__}"


def suggested_hardware(spec: ModelSpec) -> str:
    if spec.id.split(".")[0].endswith("-tiny"):
        return "cpu-basic"
    return "a10g-small" if spec.resolution >= 1024 else "t4-small"


def preload_entry(spec: ModelSpec) -> Optional[str]:
    """A ``preload_from_hub`` line: ``repo file1,file2,... [revision]``.

    The files are the diffusers-layout ones zoo.hub loads (fp32 safetensors, configs, tokenizer
    files), listed from the spec's components: a bare repo id would preload every checkpoint in
    it (the SD1.5 repo holds tens of GB of .ckpt and fp16 variants). The Hub needs a file list
    to pin a revision anyway. A component of a kind not known here falls back to the bare repo.
    """
    if not spec.hub_repo:
        return None
    comps = spec.config.get("components", {})
    files = ["model_index.json"] if comps else []
    for name, comp in comps.items():
        cls, lib = comp.get("class", ""), comp.get("library", "diffusers")
        if cls in _TOKENIZER_FILES:
            files += [f"{name}/{f}" for f in _TOKENIZER_FILES[cls]]
        elif "Scheduler" in cls:
            files.append(f"{name}/scheduler_config.json")
        elif cls in _SHARDED:
            continue  # shard names vary by repo; the first load downloads them
        elif lib in _WEIGHT_FILE and "Tokenizer" not in cls:
            files += [f"{name}/config.json", f"{name}/{_WEIGHT_FILE[lib]}"]
        else:
            files = []
            break
    if not files:
        return spec.hub_repo if not spec.revision else None  # a pin needs files: skip rather than guess
    return " ".join([spec.hub_repo, ",".join(files), *([spec.revision] if spec.revision else [])])


def card_data(spec: ModelSpec, hardware: Optional[str] = None):
    from importlib.metadata import PackageNotFoundError, version

    from huggingface_hub import SpaceCardData

    try:
        sdk_version = version("gradio")  # the installed one, without the cost of importing it
    except PackageNotFoundError:
        raise ZooError("gradio is not installed: `pip install 'ondevice-diffusion-zoo[demo]'`") from None

    emoji, c_from, c_to, short = TASK_META[spec.task]
    assert len(short) <= SHORT_DESCRIPTION_MAX
    task_models = [get_spec(m) for m in list_models("*", task=spec.task)]
    models = sorted({s.hub_repo for s in task_models if s.hub_repo} | ({spec.hub_repo} if spec.hub_repo else set()))
    preload = preload_entry(spec)
    extra = dict(emoji=emoji, colorFrom=c_from, colorTo=c_to, pinned=False, short_description=short,
                 suggested_hardware=hardware or suggested_hardware(spec))
    if preload:
        extra["preload_from_hub"] = [preload]
    return SpaceCardData(
        title=f"zoo {spec.task}", sdk="gradio", sdk_version=sdk_version, app_file="app.py",
        license=spec.license, models=models or None, tags=["ondevice-diffusion-zoo", spec.task, spec.family], **extra,
    )


APP_TEMPLATE = '''"""Hugging Face Space: the zoo's {task} demo with {model_id} preselected.

Written by `zoo space {model_id}`; the app itself lives in the zoo (zoo.demo), so every
registered {task} model is in the dropdown.
"""
import zoo.demo

demo = zoo.demo.build_app("{task}", default="{model_id}")

if __name__ == "__main__":
    zoo.demo.launch(demo)
'''

README_BODY = """
# zoo · {task}

The ondevice-diffusion-zoo {task} demo, with **{model_id}** preselected: {summary}

Every registered {task} model is in the model dropdown; the panel beside the output shows the
model card's summary and cost figures (the paper's and the zoo's measurements).

Run the same app locally:

```bash
pip install "{requirement}" gradio
zoo demo {model_id}
```

This folder was written by `zoo space {model_id} --to DIR`.
"""


def space_files(model_id: str, hardware: Optional[str] = None, requirement: Optional[str] = None) -> dict[str, str]:
    spec = get_spec(model_id)
    from .app import TASK_MODULES

    if spec.task not in TASK_MODULES:
        raise ZooError(f"{spec.id} is a {spec.task} model; Spaces exist for {', '.join(TASK_MODULES)}")
    req = requirement or zoo_requirement()
    _check_requirement(req)
    data = card_data(spec, hardware)
    body = README_BODY.format(task=spec.task, model_id=spec.id, summary=spec.summary, requirement=req)
    return {
        "app.py": APP_TEMPLATE.format(task=spec.task, model_id=spec.id),
        "README.md": f"---\n{data.to_yaml()}\n---\n{body}",
        # gradio itself comes from the Space's sdk_version; listing it here could fight that pin.
        "requirements.txt": f"{req}\n",
    }


def _check_requirement(req: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(req)
    except InvalidRequirement as exc:
        raise ZooError(f"{req!r} is not a valid requirement line: {exc}") from None


def write_space(model_id: str, folder: str | os.PathLike, hardware: Optional[str] = None,
                requirement: Optional[str] = None) -> Path:
    """Write a ready Space folder: app.py, README.md and requirements.txt (other files are left alone)."""
    folder = Path(folder)
    files = space_files(model_id, hardware, requirement)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def push_space(model_id: str, repo: str, private: bool = False, token: Optional[str] = None,
               hardware: Optional[str] = None, requirement: Optional[str] = None) -> str:
    """Create (or reuse) the Space ``repo`` and upload the folder; returns the Space's URL."""
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise HubAuthError("no Hugging Face token: run `hf auth login` or set HF_TOKEN, then push the Space again")
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="zoo-space-") as tmp:
        write_space(model_id, tmp, hardware, requirement)
        url = api.create_repo(repo, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        api.upload_folder(folder_path=tmp, repo_id=repo, repo_type="space", commit_message=f"zoo space {model_id}")
    return str(url)
