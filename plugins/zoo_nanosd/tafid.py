"""taFID, the paper's search fidelity (``search_fidelity='tafid'``): the Fréchet distance
between a student's images and the teacher's for the same held-out prompts and seeds.

Features: Inception-v3 (the standard FID) when its weights are present, else the proving
ground's digit classifier (``zoo.proving``), which suits its miniature teachers' 32x32 digits.
The teacher's images are generated once; each student costs one image per held-out prompt.
"""
from __future__ import annotations

from typing import Any

from zoo import ZooError


def inception_available() -> bool:
    import importlib.util
    from pathlib import Path

    import torch

    from zoo.evaluate.generation import INCEPTION_FILE

    return (importlib.util.find_spec("torch_fidelity") is not None
            and (Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE).is_file())


def resolve_features(choice: str) -> str:
    if choice == "auto":
        return "inception" if inception_available() else "digits"
    if choice == "inception" and not inception_available():
        raise ZooError("tafid_features='inception' needs torch-fidelity and the Inception-v3 weights in "
                       "~/.cache/torch/hub/checkpoints/; use tafid_features='digits' on the proving ground")
    return choice


def frechet(images: list[Any], reference: list[Any], features: str) -> float:
    """Fréchet distance of two lists of HxWx3 uint8 images under ``features``."""
    if features == "inception":
        from zoo.evaluate.generation import fid

        return fid(images, reference, features="inception")
    import numpy as np

    from zoo.proving import digit_features, frechet_distance

    def feats(imgs: list[Any]) -> Any:
        return digit_features(np.stack(imgs).astype(np.float64) / 255.0)

    return frechet_distance(feats(images), feats(reference))


class TaFID:
    """``TaFID(run)(unet)``: taFID of the student UNet ``unet`` in the teacher's pipeline."""

    def __init__(self, run: Any) -> None:
        self.run, self.cfg = run, run.cfg
        self.features = resolve_features(self.cfg.tafid_features)
        self.prompts = list(run.data["meta"]["prompts"][run.n_train:])  # the held-out prompts
        if len(self.prompts) < 2:
            raise ZooError("taFID needs at least 2 held-out prompts: raise dataset.n_eval")
        self.reference = self.images(run.pipe.unet)

    def images(self, unet: Any) -> list[Any]:
        from diffusers import StableDiffusionPipeline

        from zoo.evaluate.generation import generate

        run = self.run
        pipe = StableDiffusionPipeline(**{**run.pipe.components, "unet": unet}, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        size = self.cfg.resolution or run.spec.resolution
        return generate(pipe, self.prompts, seed=self.cfg.seed + 999, steps=self.cfg.tafid_steps, size=size,
                        progress=False)

    def __call__(self, unet: Any) -> float:
        return frechet(self.images(unet), self.reference, self.features)
