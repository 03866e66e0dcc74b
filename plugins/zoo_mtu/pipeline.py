"""MTUStableDiffusionPipeline: one upcycled UNet, the task picked per call.

    pipe("a photo of a cat")                                          # task t2i (a build starts there)
    pipe("make it black and white", image=photo, task="edit")
    pipe("sharpen the x4 upscale", image=low_res, task="sr")          # output: 4x the input's size
    pipe("fill in the gray square", image=photo, mask_image=mask, task="inpaint")

``task=`` sets the router task, the task's conv_in and the condition (zoo_mtu.conditions) for this
call and the ones after it that pass no task (as ``zoo_mtu.set_task``). The allowed values are
``MTUStableDiffusionPipeline.TASKS`` (every MTU task) and ``pipe.tasks`` (those this UNet was trained
for, in order); the other arguments are StableDiffusionPipeline's. Classifier-free guidance is on
the text only: the condition latent is the same in both halves of the batch.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from diffusers import StableDiffusionPipeline

from .choices import TASKS
from .modules import CONDITIONED


class MTUStableDiffusionPipeline(StableDiffusionPipeline):
    TASKS = TASKS  # every value task= may take; pipe.tasks: this pipeline's
    CONDITIONED = CONDITIONED  # tasks that take image= (inpaint: mask_image= too)

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any, safety_checker: Any = None,
                 feature_extractor: Any = None, image_encoder: Any = None, requires_safety_checker: bool = False) -> None:
        super().__init__(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                         safety_checker=safety_checker, feature_extractor=feature_extractor, image_encoder=image_encoder,
                         requires_safety_checker=requires_safety_checker)

    @property
    def tasks(self) -> tuple:
        """The tasks this pipeline's UNet routes (a subset of TASKS)."""
        from .modules import state_of

        return state_of(self.unet).tasks

    @property
    def task(self) -> str:
        """The task a call without ``task=`` runs."""
        from .modules import state_of

        return state_of(self.unet).task

    def prepare_latents(self, batch_size: int, num_channels_latents: int, *args: Any, **kwargs: Any) -> Any:
        # the noisy latent has the VAE's channels; unet.config.in_channels may count the condition too
        return super().prepare_latents(batch_size, self.vae.config.latent_channels, *args, **kwargs)

    def _batch(self, prompt: Any, kwargs: dict) -> int:
        if prompt is not None:
            return 1 if isinstance(prompt, str) else len(prompt)
        embeds = kwargs.get("prompt_embeds")
        return embeds.shape[0] if embeds is not None else 1

    @torch.no_grad()
    def __call__(self, prompt: Any = None, image: Any = None, mask_image: Any = None, task: Optional[str] = None,
                 height: Optional[int] = None, width: Optional[int] = None, **kwargs: Any) -> Any:
        """``task``: one of ``pipe.tasks`` (default: the current task, t2i after a build). ``image``: the
        photo to edit (edit), the low-resolution photo (sr, upscaled x4 unless height/width say otherwise),
        the photo to fill (inpaint, with ``mask_image``: white = fill); PIL, HxWx3 uint8, a list of them,
        or an Nx3xHxW tensor in [-1, 1]. Output size: ``height``/``width``, else the condition's size."""
        from zoo import ZooError

        from .conditions import condition_pixels, encode
        from .modules import state_of
        from .technique import check_task

        state = state_of(self.unet)
        if task is None and image is None and mask_image is None:
            task = state.task
            if task in CONDITIONED and state.cond is None:
                raise ZooError(f"the pipeline's task is {task!r}, which needs image=; or pass task='t2i' if it has it")
        else:
            task = state.task if task is None else task
            check_task(task, state.tasks, image, mask_image)
        if image is not None:
            size = (height, width) if height and width else None
            x = condition_pixels(task, image, mask_image, size)
            height, width = x.shape[-2:]
            cond = encode(self.vae, x).to(self.unet.dtype)
            n, per = cond.shape[0], kwargs.get("num_images_per_prompt") or 1
            batch = self._batch(prompt, kwargs)
            if n not in (1, batch):
                raise ZooError(f"got {n} images for {batch} prompts: pass one image, or one per prompt")
            state.cond = cond.repeat_interleave(per, dim=0) if n > 1 else cond
        elif task != state.task:
            state.cond = None  # t2i (a conditioned task without an image was refused above)
        state.task = task
        return super().__call__(prompt, height=height, width=width, **kwargs)


def as_mtu_pipeline(pipe: Any) -> Any:
    """``pipe`` (a StableDiffusion / InstructPix2Pix pipeline with an MTU UNet) as an MTUStableDiffusionPipeline
    over the same components (nothing copied)."""
    if isinstance(pipe, MTUStableDiffusionPipeline):
        return pipe
    comps = {k: pipe.components.get(k) for k in ("vae", "text_encoder", "tokenizer", "unet", "scheduler", "image_encoder")}
    return MTUStableDiffusionPipeline(**comps, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
