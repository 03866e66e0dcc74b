"""The proving ground's edits task: (input crop, instruction, target) triplets made by known operations.

    from zoo.proving import edits
    ds = edits.edits("train", size=32, count=1024)     # EditSet, fixed seed, train photos only
    inp, instruction, target = ds.pil(0)                # PIL images + the instruction string
    x, y = ds.tensors()                                  # float NCHW in [-1, 1]
    edits.INSTRUCTIONS["flip"]                           # 'flip it horizontally'

Each operation has one fixed instruction (the whole vocabulary is ``INSTRUCTIONS``): five global
edits (grayscale, invert, horizontal flip, Gaussian blur, brighten), inpainting (a mid-gray square
hides part of the crop; the target is the crop) and x4 super-resolution (the input is the bicubic
x4 upscale of the crop's bicubic x4 downscale, the target is the crop). The "test" split cuts its
crops from the held-out photos of ``zoo.proving.photos`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..errors import ZooError
from . import photos as _photos

INSTRUCTIONS: dict[str, str] = {
    "grayscale": "make it black and white",
    "invert": "invert the colors",
    "flip": "flip it horizontally",
    "blur": "blur the photo",
    "brighten": "make it brighter",
    "inpaint": "fill in the gray square",
    "sr": "sharpen the x4 upscale",
}
OPS: tuple[str, ...] = tuple(INSTRUCTIONS)
BLUR_RADIUS = 1.5  # Gaussian sigma in pixels (PIL GaussianBlur)
BRIGHTEN = 1.4  # PIL ImageEnhance.Brightness factor
SR_SCALE = 4
HOLE_GRAY = 127


def op_of(instruction: str) -> str:
    """The operation an instruction names (an op name is accepted too); ZooError outside the vocabulary."""
    if instruction in INSTRUCTIONS:
        return instruction
    for op, text in INSTRUCTIONS.items():
        if instruction == text:
            return op
    raise ZooError(f"unknown edit instruction {instruction!r}: the edits vocabulary is "
                   + "; ".join(repr(t) for t in INSTRUCTIONS.values()))


def _check_ops(ops: Optional[Sequence[str]]) -> tuple[str, ...]:
    if ops is None:
        return OPS
    if isinstance(ops, str):
        ops = [ops]
    out = tuple(op_of(o) for o in ops)
    if not out:
        raise ZooError("ops is empty: name at least one of " + ", ".join(OPS))
    return out


def apply_edit(op: str, crop: Any, rng: Any = None) -> tuple[Any, Any]:
    """``(input, target)`` uint8 HxWx3 arrays for one RGB crop and an op (or its instruction).

    ``rng`` (a numpy Generator) places the inpainting hole; the other ops are deterministic.
    """
    import numpy as np
    from PIL import Image, ImageEnhance, ImageFilter

    op = op_of(op)
    crop = _photos.check_rgb(crop, "crop", multiple=SR_SCALE if op == "sr" else 1)
    pil = Image.fromarray(crop)
    if op == "grayscale":
        return crop, np.asarray(pil.convert("L").convert("RGB"))
    if op == "invert":
        return crop, 255 - crop
    if op == "flip":
        return crop, np.ascontiguousarray(crop[:, ::-1])
    if op == "blur":
        return crop, np.asarray(pil.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)))
    if op == "brighten":
        return crop, np.asarray(ImageEnhance.Brightness(pil).enhance(BRIGHTEN))
    if op == "inpaint":
        rng = np.random.default_rng(0) if rng is None else rng
        h, w = crop.shape[:2]
        s = int(rng.integers(max(2, min(h, w) // 4), max(3, min(h, w) // 2) + 1))
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        inp = crop.copy()
        inp[y:y + s, x:x + s] = HOLE_GRAY
        return inp, crop
    # sr: the same-size restoration form of x4 SR (input: bicubic up of bicubic down)
    lr = _photos.downscale_batch(crop[None], SR_SCALE)
    return _photos.upscale_batch(lr, SR_SCALE)[0], crop


@dataclass
class EditSet:
    """Edit triplets: ``inputs``/``targets`` uint8 (N, H, W, 3); per item its instruction, op and photo."""

    inputs: Any
    targets: Any
    instructions: list[str]
    ops: list[str]
    photos: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.instructions)

    def pil(self, i: int) -> tuple[Any, str, Any]:
        """``(input PIL, instruction, target PIL)`` of item ``i``."""
        from PIL import Image

        return Image.fromarray(self.inputs[i]), self.instructions[i], Image.fromarray(self.targets[i])

    def tensors(self) -> tuple[Any, Any]:
        """``(inputs, targets)`` as float32 NCHW tensors in [-1, 1]."""
        return _photos.to_tensor(self.inputs), _photos.to_tensor(self.targets)

    def subset(self, idx: Sequence[int]) -> "EditSet":
        idx = list(idx)
        return EditSet(self.inputs[idx], self.targets[idx], [self.instructions[i] for i in idx],
                       [self.ops[i] for i in idx], [self.photos[i] for i in idx] if self.photos else [])


def edits(split: str = "train", size: int = 32, count: Optional[int] = None, ops: Optional[Sequence[str]] = None,
          seed: int = 0) -> EditSet:
    """``count`` edit triplets of ``size``x``size`` crops from the photos of ``split`` (ops taken in turn).

    ``count`` defaults to 16 per op; ``ops`` to all of ``OPS`` (names or instructions).
    """
    import numpy as np

    ops = _check_ops(ops)
    _photos._check_size(size, 2 * SR_SCALE if "sr" in ops else 1, "edit crop size")
    count = 16 * len(ops) if count is None else _photos._check_count(count)
    crops, src = _photos.patches_with_sources(split, size, count, seed)
    rng = np.random.default_rng([int(seed), 7, 0 if split == "train" else 1])
    inputs, targets, names = [], [], []
    for i in range(count):
        op = ops[i % len(ops)]
        a, b = apply_edit(op, crops[i], rng)
        inputs.append(a)
        targets.append(b)
        names.append(op)
    return EditSet(np.stack(inputs), np.stack(targets), [INSTRUCTIONS[o] for o in names], names, src)


# -- metrics -------------------------------------------------------------------------------------
def psnr(img: Any, ref: Any) -> float:
    """PSNR (dB) over all RGB channels, peak 255 (colour edits must be judged on colour, not luma)."""
    import math

    import numpy as np

    a, b = np.asarray(img, np.float64), np.asarray(ref, np.float64)
    if a.shape != b.shape:
        raise ZooError(f"images differ in size: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def score(outputs: Any, ds: EditSet) -> dict[str, dict[str, float]]:
    """``{op: {'psnr', 'ssim'}, 'all': {...}}``: mean PSNR (RGB) and SSIM (Y, zoo.evaluate.sr) per op."""
    import numpy as np

    from ..evaluate.sr import ssim_y

    per: dict[str, dict[str, list[float]]] = {}
    for out, tgt, op in zip(outputs, ds.targets, ds.ops):
        out = np.asarray(out)
        if out.shape != tgt.shape:
            raise ZooError(f"the editor returned {out.shape} for a {tgt.shape} crop; it must keep the size")
        d = per.setdefault(op, {"psnr": [], "ssim": []})
        d["psnr"].append(min(psnr(out, tgt), 100.0))  # an exact match counts as 100 dB, not inf
        d["ssim"].append(ssim_y(out, tgt))
    res = {op: {k: float(np.mean(v)) for k, v in d.items()} for op, d in per.items()}
    res["all"] = {k: float(np.mean([res[op][k] for op in per])) for k in ("psnr", "ssim")}
    return res


def identity_baseline(ds: EditSet) -> dict[str, dict[str, float]]:
    """Scores of returning the input unchanged: the floor an editor must beat."""
    return score(ds.inputs, ds)


def pipeline_editor(pipe: Any, batch: int = 16, seed: int = 0, progress: bool = True, **call_kwargs: Any):
    """A function (EditSet -> uint8 NHWC outputs) that calls ``pipe(prompt=[...], image=[PIL...], ...)``
    (the StableDiffusionInstructPix2PixPipeline convention) in batches, with a seeded generator."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    def run(ds: EditSet) -> Any:
        outs = []
        gen = torch.Generator("cpu").manual_seed(seed)
        for i in tqdm(range(0, len(ds), batch), desc="edits", unit="batch", disable=not progress):
            idx = range(i, min(i + batch, len(ds)))
            imgs = [ds.pil(j)[0] for j in idx]
            res = pipe(prompt=[ds.instructions[j] for j in idx], image=imgs, generator=gen, **call_kwargs).images
            outs += [np.asarray(r.convert("RGB")) if hasattr(r, "convert") else (np.clip(r, 0, 1) * 255).round().astype(np.uint8)
                     for r in res]
        return np.stack(outs)

    return run


def edits_suite(model: Any, spec: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    """`zoo eval ID --suite edits`: PSNR/SSIM on held-out edit triplets, with the identity baseline.

    Options: split ('test'), size (spec.config['edit_size'] or 32), count (per op, 16), ops (all),
    seed (0), batch (16), call_kwargs (spec.config['call_kwargs'] updated by the option), progress.
    """
    from ..evaluate.records import machine_description, make_record

    if spec.task != "image-editing":
        raise ZooError(f"the edits suite needs an image-editing model; {spec.id} is {spec.task}")
    ops = _check_ops(config.get("ops"))
    size = int(config.get("size") or spec.config.get("edit_size", 32))
    per_op = 16 if config.get("count") is None else _photos._check_count(config["count"])
    seed = int(config.get("seed") or 0)
    split = config.get("split") or "test"
    ds = edits(split, size, per_op * len(ops), ops, seed)
    call_kwargs = {**spec.config.get("call_kwargs", {}), **(config.get("call_kwargs") or {})}
    progress = config.get("progress", True)
    if not callable(model):
        raise ZooError(f"{spec.id}: the edits suite calls the pipeline as pipe(prompt=, image=PIL); got a {type(model).__name__}")
    outs = pipeline_editor(model, int(config.get("batch") or 16), seed, progress, **call_kwargs)(ds)
    settings = {"split": split, "size": size, "per_op": per_op, "seed": seed,
                **{k: v for k, v in call_kwargs.items() if isinstance(v, (int, float, str))}}
    recs = []
    for backend, res, device in (("identity", identity_baseline(ds), "none"),
                                 ("torch", score(outs, ds), machine_description(getattr(model, "device", "cpu")))):
        for metric, unit in (("psnr", "dB"), ("ssim", "")):
            recs.append(make_record(spec.id, "edits", metric, res["all"][metric], unit=unit, dataset=DATASET_NAME,
                                    backend=backend, device=device, settings=settings, task=spec.pipeline_tag,
                                    per_op={op: v[metric] for op, v in res.items() if op != "all"}))
    return recs


DATASET_NAME = "zoo-edits (held-out photos)"
