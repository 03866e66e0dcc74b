"""Training data of the NanoSD recipe: latents, prompt embeddings and (optionally) images,
prepared once and cached as one safetensors file.

Sources, by ``latents`` [choice]:
* ``images``: a folder of images with same-named ``.txt`` captions -> teacher VAE latents;
* ``teacher``: prompts (``prompts.txt`` in the folder, or captions) -> latents the teacher
  pipeline generates (``output_type="latent"``), as the paper's stage inputs come from the
  teacher's own denoising;
* ``random``: N(0, 1) latents with synthetic prompts, for tests and dry runs only;
* ``auto``: images if the folder has any, else teacher with its prompts, else random.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Optional

import torch

from zoo import ZooError, atomic

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
_OBJECTS = ["red fox", "lighthouse", "bowl of ramen", "vintage car", "mountain lake", "robot", "cat", "city street"]
_STYLES = ["at sunset", "in the snow", "oil painting", "studio photo", "watercolor", "at night"]


def synthetic_prompts(n: int) -> list[str]:
    combos = [f"a {o} {s}" for o, s in itertools.product(_OBJECTS, _STYLES)]
    return [combos[i % len(combos)] for i in range(n)]


def scan_folder(folder: Path) -> tuple[list[Path], list[str]]:
    """(image paths, captions) or ([], prompts) for a prompts-only folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ZooError(f"--data {folder} is not a folder")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    if images:
        caps = [p.with_suffix(".txt").read_text().strip() if p.with_suffix(".txt").is_file() else "" for p in images]
        return images, caps
    prompts_file = folder / "prompts.txt"
    if prompts_file.is_file():
        prompts = [line.strip() for line in prompts_file.read_text().splitlines() if line.strip()]
        if prompts:
            return [], prompts
    raise ZooError(f"{folder} has neither images ({', '.join(sorted(IMAGE_EXTS))}, captions in same-named .txt "
                   "files) nor a non-empty prompts.txt")


def _load_image(path: Path, size: int) -> torch.Tensor:
    import numpy as np
    from PIL import Image

    img = Image.open(path).convert("RGB")
    s = min(img.size)
    left, top = (img.width - s) // 2, (img.height - s) // 2
    img = img.crop((left, top, left + s, top + s)).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 127.5 - 1.0


@torch.no_grad()
def encode_prompts(pipe: Any, prompts: list[str], device: Any, batch: int = 16) -> torch.Tensor:
    tok, enc = pipe.tokenizer, pipe.text_encoder
    out = []
    for i in range(0, len(prompts), batch):
        ids = tok(prompts[i:i + batch], padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids.to(device)
        out.append(enc(ids)[0].float().cpu())
    return torch.cat(out)


def prepare_data(pipe: Any, out: Path, *, data: Optional[Path], n_samples: int, resolution: int, latents: str,
                 teacher_steps: int, seed: int, device: Any, progress: bool = True) -> dict[str, Any]:
    """Build (or reuse) ``out/data.safetensors``: latents (scaled), prompt embeddings, the empty
    prompt's embedding and, when there are images, the images in [-1, 1]."""
    from safetensors.torch import load_file, save_file
    from tqdm.auto import tqdm

    path, meta_path = Path(out) / "data.safetensors", Path(out) / "data.json"
    if path.is_file() and meta_path.is_file():
        return {**load_file(str(path)), "meta": json.loads(meta_path.read_text())}
    images: list[Path] = []
    prompts: list[str] = []
    if data is not None:
        images, prompts = scan_folder(Path(data))
    source = latents
    if source == "auto":
        source = "images" if images else ("teacher" if prompts else "random")
    if source == "images" and not images:
        raise ZooError("latents='images' needs --data with image files")
    if not prompts:
        prompts = synthetic_prompts(n_samples)
    n = min(n_samples, len(images)) if source == "images" else n_samples
    prompts = [prompts[i % len(prompts)] for i in range(n)]
    sf = pipe.vae.config.scaling_factor
    lat = resolution // pipe.vae_scale_factor
    g = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        if source == "images":
            imgs = torch.stack([_load_image(p, resolution) for p in images[:n]])
            zs = []
            for i in tqdm(range(0, n, 8), desc="encode images with the teacher VAE", disable=not progress):
                zs.append(pipe.vae.encode(imgs[i:i + 8].to(device)).latent_dist.mean.float().cpu() * sf)
            tensors["latents"], tensors["images"] = torch.cat(zs), imgs
        elif source == "teacher":
            zs = []
            for i in tqdm(range(n), desc="teacher-generated latents", disable=not progress):
                gi = torch.Generator(device="cpu").manual_seed(seed * 100_003 + i)
                r = pipe(prompts[i], num_inference_steps=teacher_steps, height=resolution, width=resolution,
                         output_type="latent", generator=gi)
                zs.append(r.images.float().cpu())
            tensors["latents"] = torch.cat(zs)
        elif source == "random":
            tensors["latents"] = torch.randn(n, pipe.unet.config.in_channels, lat, lat, generator=g)
        else:
            raise ZooError(f"unknown latents source {source!r}")
    tensors["ehs"] = encode_prompts(pipe, prompts, device)
    tensors["uncond"] = encode_prompts(pipe, [""], device)
    with atomic.write_file(path) as tmp:  # read back only when both files are there, each complete
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    meta = {"source": source, "n": n, "prompts": prompts, "resolution": resolution}
    atomic.write_text(meta_path, json.dumps(meta, indent=1))
    return {**tensors, "meta": meta}
