"""Task datasets for MTU training: (condition image, target image, prompt) triplets per task.

From the proving ground (``source: proving``): editing = the global edits (grayscale, invert, flip,
blur, brighten) with their instructions; sr = the bicubic x4 restoration pairs; inpaint = crops
with a mid-gray square (the condition) and the crop (the target).

From folders (``source: PATH``): ``PATH/edit/{inputs,targets}/NAME.png`` + ``PATH/edit/prompts.txt``
(``NAME<TAB>instruction`` per line) for editing triplets; ``PATH/sr/*.png`` and
``PATH/inpaint/*.png`` hold plain photos, degraded here as the proving ground does (bicubic x4
down + up; a mid-gray square), cropped to ``size``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo import ZooError

GLOBAL_EDITS = ("grayscale", "invert", "flip", "blur", "brighten")
PROMPTS = {"sr": "sharpen the x4 upscale", "inpaint": "fill in the gray square"}
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class TaskData:
    """uint8 (N, H, W, 3) condition images (None for t2i), targets and one prompt per item."""

    task: str
    conds: Any
    targets: Any
    prompts: list[str]

    def __len__(self) -> int:
        return len(self.prompts)


def proving_task(task: str, split: str, size: int, count: int, seed: int = 0) -> TaskData:
    from zoo.proving import edits as E

    if task == "t2i":
        raise ZooError("the proving ground's t2i data is the digits task: train t2i from mini-sd, not in this mix")
    ops = GLOBAL_EDITS if task == "edit" else (task,)
    ds = E.edits(split, size=size, count=count, ops=ops, seed=seed)
    return TaskData(task, ds.inputs, ds.targets, list(ds.instructions))


def folder_task(task: str, root: Path, size: int, seed: int = 0) -> TaskData:
    import numpy as np
    from PIL import Image

    from zoo.proving import edits as E

    d = Path(root) / task
    if not d.is_dir():
        raise ZooError(f"no {task} data: {d} is not a folder (see zoo_mtu.data for the layout)")

    def load(p: Path) -> Any:
        im = Image.open(p).convert("RGB")
        s = min(im.size)
        im = im.crop(((im.width - s) // 2, (im.height - s) // 2, (im.width - s) // 2 + s, (im.height - s) // 2 + s))
        return np.asarray(im.resize((size, size), Image.BICUBIC))

    if task == "edit":
        lines = (d / "prompts.txt").read_text().splitlines() if (d / "prompts.txt").exists() else []
        prompts = dict(line.split("\t", 1) for line in lines if "\t" in line)
        names = sorted(p.name for p in (d / "inputs").glob("*") if p.suffix.lower() in IMAGE_EXT)
        names = [n for n in names if (d / "targets" / n).exists() and n in prompts]
        if not names:
            raise ZooError(f"{d} holds no editing triplets (inputs/NAME, targets/NAME and 'NAME<TAB>instruction' "
                           "in prompts.txt)")
        return TaskData(task, np.stack([load(d / "inputs" / n) for n in names]),
                        np.stack([load(d / "targets" / n) for n in names]), [prompts[n] for n in names])
    if task not in PROMPTS:
        raise ZooError(f"folder data for task {task!r} is not supported (edit, sr, inpaint)")
    photos = [load(p) for p in sorted(d.glob("*")) if p.suffix.lower() in IMAGE_EXT]
    if not photos:
        raise ZooError(f"{d} holds no images")
    rng = np.random.default_rng(seed)
    pairs = [E.apply_edit(task, p, rng) for p in photos]
    return TaskData(task, np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs]), [PROMPTS[task]] * len(pairs))


def task_data(task: str, source: str, split: str, size: int, count: int, seed: int = 0) -> TaskData:
    return proving_task(task, split, size, count, seed) if source == "proving" else folder_task(task, Path(source), size, seed)
