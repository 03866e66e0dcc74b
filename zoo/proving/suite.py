"""The ``digits`` eval suite: ``zoo eval mini-sd --suite digits`` (or ``zoo.evaluate.evaluate``).

For a text-to-image model it asks for each digit with its prompt ('a handwritten digit 7'),
for a class-conditional one with its class label (``pipe(class_labels=[7])``), and records
prompt accuracy and the Fréchet distance to the held-out real digits, with the floor
(training real vs held-out real) beside them for scale.

Options (``config``): ``samples_per_class`` (10), ``steps`` (25), ``seed`` (0), ``batch`` (50),
``guidance_scale`` (the pipeline's default), ``progress`` (True).
"""
from __future__ import annotations

import inspect
from typing import Any, Sequence

from ..errors import ZooError
from .digits import HELD_OUT, NUM_CLASSES, prompt_for

DATASET = f"digits (scikit-learn load_digits, 32x32; Fréchet vs {HELD_OUT} held-out real)"
TASKS = ("text-to-image", "class-conditional-generation")


def _class_conditional(pipe: Any) -> bool:
    return "class_labels" in inspect.signature(pipe.__call__).parameters


def sample_digits(pipe: Any, labels: Sequence[int], *, steps: int = 25, seed: int = 0, batch: int = 50,
                  guidance_scale: float | None = None, progress: bool = True) -> Any:
    """Generate one digit per label: numpy [N, 32, 32, 3] in [0, 1]. Batch ``b`` uses a CPU
    generator seeded ``seed + b``, so the same arguments give the same images."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    labels = [int(v) for v in labels]
    for v in labels:
        prompt_for(v)  # validates 0..9
    class_cond = _class_conditional(pipe)
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    kw: dict[str, Any] = {"num_inference_steps": steps, "output_type": "np"}
    if guidance_scale is not None:
        kw["guidance_scale"] = guidance_scale
    chunks = [labels[i:i + batch] for i in range(0, len(labels), batch)]
    out = []
    for b, chunk in enumerate(tqdm(chunks, desc="digits", unit="batch", disable=not progress)):
        g = torch.Generator("cpu").manual_seed(seed + b)
        if class_cond:
            res = pipe(class_labels=chunk, generator=g, **kw)
        else:
            res = pipe(prompt=[prompt_for(v) for v in chunk], generator=g, **kw)
        imgs = res.images if hasattr(res, "images") else res[0]
        out.append(np.clip(np.asarray(imgs, dtype=np.float64), 0.0, 1.0))
    return np.concatenate(out)


def digits_suite(model: Any, spec: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Prompt accuracy and Fréchet distance of ``model``'s digits (records for ``zoo eval``)."""
    from ..evaluate.records import machine_description, make_record
    from .digits_metrics import digits_frechet, prompt_accuracy
    from .digits import digits_split

    if spec.task not in TASKS or not callable(model) or not hasattr(model, "components"):
        raise ZooError(f"the digits suite evaluates digits generators ({' or '.join(TASKS)} pipelines); "
                       f"{spec.id} is {spec.task}")
    n = int(config.get("samples_per_class") or 10)
    steps = int(config.get("steps") or 25)
    seed = int(config.get("seed") or 0)
    labels = [c for _ in range(n) for c in range(NUM_CLASSES)]
    images = sample_digits(model, labels, steps=steps, seed=seed, batch=int(config.get("batch") or 50),
                           guidance_scale=config.get("guidance_scale"), progress=config.get("progress", True))
    acc = prompt_accuracy(images, labels)
    fd = digits_frechet(images)
    floor = digits_frechet((digits_split("train").images[: len(labels)] + 1.0) / 2.0)
    settings = {"samples": len(labels), "steps": steps, "seed": seed, "resolution": 32,
                "guidance_scale": config.get("guidance_scale") or "pipeline default",
                "pretrained": bool(config.get("pretrained", True)),
                "conditioning": "class_labels" if _class_conditional(model) else "prompt"}
    common = dict(dataset=DATASET, backend="torch", device=machine_description("cpu"), settings=settings,
                  task=spec.pipeline_tag)
    return [
        make_record(spec.id, "digits", "prompt_accuracy", 100.0 * acc, unit="%", **common),
        make_record(spec.id, "digits", "digits_fd", fd, unit="", **common),
        make_record(spec.id, "digits", "digits_fd_real_floor", floor, unit="",
                    **{**common, "backend": "real-digits", "settings": {"samples": len(labels)}}),
    ]
