"""Generation quality: teacher-aligned PSNR/SSIM (no extra weights), and FID / CLIP score via
torchmetrics when their feature networks are in the local cache.

Teacher-aligned metrics compare a student's image with its teacher's for the same prompt,
seed and step count: a distilled model should reproduce its teacher. They need nothing but
the two pipelines, so they run anywhere (NanoSD's architecture search uses them as fidelity).

FID needs a feature network: Inception-v3 (torch-fidelity's weights, the standard) or CLIP's
vision tower (FID_CLIP, Kynkaenniemi et al. 2023). CLIP score needs a CLIP model. None can be
downloaded at run time here: when absent, the error names exactly what to fetch.
"""
from __future__ import annotations

import sys
from typing import Any, Optional, Sequence, Union

from ..errors import ZooError
from ..specs import ModelSpec

CLIP_REPO = "openai/clip-vit-large-patch14"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"

# A small fixed prompt set (varied subjects, layouts and styles) for quick generation checks.
PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "a red sports car parked on a city street at night",
    "a bowl of fresh fruit on a wooden table, natural light",
    "a cat sleeping on a windowsill, soft focus",
    "a snowy mountain landscape at sunrise",
    "a watercolor painting of a lighthouse by the sea",
    "a portrait of an old fisherman, detailed, studio lighting",
    "a plate of sushi, top-down view",
]


def generate(pipe: Any, prompts: Sequence[str], seed: int = 0, steps: int = 20, size: Optional[int] = None,
             progress: bool = True, **call_kwargs: Any) -> list[Any]:
    """One HxWx3 uint8 image per prompt; prompt i uses a CPU generator seeded ``seed + i``."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    out = []
    kw = dict(call_kwargs)
    if size is not None:
        kw.update(height=size, width=size)
    for i, prompt in enumerate(tqdm(list(prompts), desc="generate", unit="image", disable=not progress)):
        g = torch.Generator("cpu").manual_seed(seed + i)
        res = pipe(prompt=prompt, num_inference_steps=steps, generator=g, output_type="np", **kw)
        img = np.asarray(res.images[0])
        if img.dtype != np.uint8:
            img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
        out.append(img)
    return out


def teacher_aligned(student_pipe: Any, teacher_pipe: Any, prompts: Sequence[str] = PROMPTS, seed: int = 0,
                    steps: int = 20, size: Optional[int] = None, progress: bool = True, **call_kwargs: Any) -> dict[str, Any]:
    """Mean PSNR / SSIM (Y channel, no crop) of student images against teacher images for the
    same prompts, seeds and steps. ``teacher_pipe`` may also be a list of teacher images already
    generated with ``generate`` (reuse them across many students)."""
    student = generate(student_pipe, prompts, seed, steps, size, progress, **call_kwargs)
    if isinstance(teacher_pipe, (list, tuple)):
        teacher = list(teacher_pipe)
        if len(teacher) != len(student):
            raise ZooError(f"{len(teacher)} teacher images for {len(student)} prompts")
    else:
        teacher = generate(teacher_pipe, prompts, seed, steps, size, progress, **call_kwargs)
    return {**aligned_scores(student, teacher), "student_images": student, "teacher_images": teacher}


def aligned_scores(student: Sequence[Any], teacher: Sequence[Any]) -> dict[str, Any]:
    """Mean and per-image PSNR / SSIM (Y channel, no crop) of paired uint8 images."""
    from .sr import psnr_y, ssim_y

    psnrs = [psnr_y(s, t) for s, t in zip(student, teacher)]
    ssims = [ssim_y(s, t) for s, t in zip(student, teacher)]
    return {"ta_psnr": sum(psnrs) / len(psnrs), "ta_ssim": sum(ssims) / len(ssims), "psnr": psnrs, "ssim": ssims}


# -- feature networks from the local cache ------------------------------------------------------
def _cached_hub_folder(repo: str) -> str:
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo, local_files_only=True)
    except Exception as exc:
        raise ZooError(
            f"{repo} is not in the local Hugging Face cache. Fetch it on a machine with access: "
            f"`hf download {repo}` (or huggingface-cli download {repo}), then copy the cache "
            f"(~/.cache/huggingface/hub) here or set HF_HOME."
        ) from exc


def clip_score(images: Sequence[Any], prompts: Sequence[str], model: str = CLIP_REPO) -> float:
    """torchmetrics CLIPScore (100 * cosine, clipped at 0) of uint8 images against their prompts."""
    import numpy as np
    import torch

    path = _cached_hub_folder(model)
    from torchmetrics.multimodal.clip_score import CLIPScore

    metric = CLIPScore(model_name_or_path=path)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return float(metric(x, list(prompts)))


class ClipFeatures:
    """CLIP image embeddings as an FID feature extractor (torchmetrics takes any nn.Module)."""

    def __new__(cls, repo: str = CLIP_REPO):
        import torch
        import torch.nn.functional as F
        from transformers import CLIPVisionModelWithProjection

        path = _cached_hub_folder(repo)

        class _Clip(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = CLIPVisionModelWithProjection.from_pretrained(path).eval()
                self.num_features = self.model.config.projection_dim
                self.register_buffer("mean", torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1))
                self.register_buffer("std", torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1))

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                x = x.float() / 255 if x.dtype == torch.uint8 else x
                x = F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False)
                return self.model(pixel_values=(x - self.mean) / self.std).image_embeds

        return _Clip()


def _inception_fid():
    """torchmetrics' standard FID (torch-fidelity's Inception-v3), if it can run offline."""
    import os
    from pathlib import Path

    try:
        import torch_fidelity  # noqa: F401
    except ImportError as exc:
        raise ZooError("FID with Inception-v3 needs torch-fidelity (`pip install torch-fidelity`; it requires "
                       f"torchvision) and its weights file {INCEPTION_FILE} in ~/.cache/torch/hub/checkpoints/; "
                       "or use features='clip'") from exc
    import torch

    ckpt = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if not ckpt.exists():
        raise ZooError(f"FID needs the Inception weights {INCEPTION_FILE} in {ckpt.parent} "
                       "(download it from the torch-fidelity GitHub releases on a machine with access)")
    from torchmetrics.image.fid import FrechetInceptionDistance

    os.environ.setdefault("TORCH_HOME", str(Path(torch.hub.get_dir()).parent))
    return FrechetInceptionDistance(feature=2048)


def fid(images: Sequence[Any], reference: Sequence[Any], features: Union[str, Any] = "inception") -> float:
    """FID between two sets of uint8 HxWx3 images. ``features``: 'inception' (standard),
    'clip' (FID_CLIP), or an nn.Module mapping uint8 BCHW images to feature vectors."""
    import numpy as np
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance

    if len(images) < 2 or len(reference) < 2:
        raise ZooError("FID needs at least 2 images per set (and many more to mean anything)")
    if features == "inception":
        metric = _inception_fid()
    else:
        module = ClipFeatures() if features == "clip" else features
        metric = FrechetInceptionDistance(feature=module)
    metric.update(torch.from_numpy(np.stack(reference)).permute(0, 3, 1, 2), real=True)
    metric.update(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), real=False)
    return float(metric.compute())


# -- the generic suite -----------------------------------------------------------------------------
def _teacher(config: dict[str, Any], spec: ModelSpec) -> Any:
    t = config.get("teacher")
    if t is None:
        return None
    if isinstance(t, str):
        from ..loading import load

        return load(t, pretrained=config.get("pretrained", True), progress=config.get("progress", True))
    return t


def generation_suite(model: Any, spec: ModelSpec, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Options: prompts (default PROMPTS), seed (0), steps (20), size (spec.resolution),
    teacher (id or pipeline: teacher-aligned PSNR/SSIM and teacher-aligned FID), metrics
    (subset of ['clip_score', 'fid', 'ta']; default: all that can run, others reported as skipped),
    fid_features ('inception' or 'clip'), call_kwargs (dict for the pipeline)."""
    from .records import machine_description, make_record

    if spec.task not in {"text-to-image", "component"} and not config.get("force"):
        raise ZooError(f"the generation suite runs text-to-image pipelines; {spec.id} is {spec.task}")
    prompts = list(config.get("prompts") or PROMPTS)
    seed, steps = int(config.get("seed", 0)), int(config.get("steps", 20))
    size = int(config.get("size") or spec.resolution)
    asked = config.get("metrics")
    wanted = set(asked or ["clip_score", "fid", "ta"])
    progress = config.get("progress", True)
    kw = dict(config.get("call_kwargs") or {})
    settings = {"prompts": len(prompts), "seed": seed, "steps": steps, "size": size}
    common = dict(dataset="zoo-prompts" if not config.get("prompts") else "custom-prompts", backend="torch",
                  device=machine_description(getattr(model, "device", "cpu")), task=spec.pipeline_tag)
    images = generate(model, prompts, seed, steps, size, progress, **kw)
    recs = []

    def skip(metric: str, exc: ZooError) -> None:
        if asked:  # explicitly requested: fail loudly
            raise exc
        print(f"zoo eval: skipped {metric}: {exc}", file=sys.stderr)

    if "clip_score" in wanted:
        try:
            recs.append(make_record(spec.id, "generation", "clip_score", clip_score(images, prompts),
                                    settings={**settings, "clip": CLIP_REPO}, **common))
        except ZooError as exc:
            skip("clip_score", exc)
    teacher = _teacher(config, spec) if wanted & {"ta", "fid"} else None
    if teacher is None and wanted & {"ta", "fid"}:
        skip("teacher-aligned metrics and FID", ZooError("no teacher given (teacher=ID) and no reference image set offline"))
    if teacher is not None:
        t_images = generate(teacher, prompts, seed, steps, size, progress, **kw)
        tid = getattr(getattr(teacher, "_zoo_spec", None), "id", str(config.get("teacher")))
        ta = aligned_scores(images, t_images)
        if "ta" in wanted:
            for m in ("ta_psnr", "ta_ssim"):
                recs.append(make_record(spec.id, "generation", m, ta[m], unit="dB" if m == "ta_psnr" else "",
                                        settings={**settings, "teacher": tid}, **common))
        if "fid" in wanted:
            feats = config.get("fid_features", "inception")
            try:
                recs.append(make_record(spec.id, "generation", "ta_fid", fid(images, t_images, feats),
                                        settings={**settings, "teacher": tid, "features": str(feats)}, **common))
            except ZooError as exc:
                skip("fid", exc)
    return recs
