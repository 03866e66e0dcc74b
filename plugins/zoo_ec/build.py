"""Build an EC pipeline from its base model (an SD1.5-family or InstructPix2Pix-style pipeline)."""
from __future__ import annotations

from typing import Any

from zoo import ModelSpec


def four_channel_unet(unet: Any) -> Any:
    """``unet`` with a 4-channel input: the context image enters EC only through the starting
    noise, so an InstructPix2Pix conv_in keeps its weights on the noisy-latent channels."""
    if unet.config.in_channels == 4:
        return unet
    new = type(unet).from_config({**unet.config, "in_channels": 4})
    state = dict(unet.state_dict())
    state["conv_in.weight"] = state["conv_in.weight"][:, :4]
    if state["conv_in.weight"].device.type != "meta":
        new.load_state_dict(state)
    return new


def scheduler() -> Any:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler

    with torch.device("cpu"):  # its small tables stay real under a surrounding meta build
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)


def from_base(spec: ModelSpec, base: Any) -> Any:
    """The EC pipeline of ``spec`` around a built (or trained) base pipeline's text encoder, VAE and UNet."""
    from .pipeline import ECEditPipeline
    from .prompt_vae import PromptVAE

    return ECEditPipeline(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer,
                          unet=four_channel_unet(base.unet), prompt_vae=PromptVAE(**spec.config["prompt_vae"]),
                          scheduler=scheduler())


def build_ec_pipeline(spec: ModelSpec) -> Any:
    import zoo

    return from_base(spec, zoo.build(spec.config["base"]))
