"""Optional diffusers capabilities a model may declare unsupported, and their refusal.

A spec lists what its model cannot do, with the reason::

    ModelSpec(..., unsupported={"ip_adapter": "no image cross-attention in the paper's blocks"})

Every model the zoo builds or loads then answers each entry point of a declared capability
(on the pipeline and on the component a diffusers user would call) with a one-line
``UnsupportedCapabilityError`` naming the model and the capability, never an AttributeError or
a silent no-op. ``zoo.testing`` (the conformance kit) checks that refusal for declared
capabilities and the real behaviour for all others. Plain data here: no torch import.
"""
from __future__ import annotations

from typing import Any

from .errors import ZooError

# capability -> (what users call it, pipeline methods, {component role: methods}).
# Roles: "denoiser" is the pipeline's unet or transformer, "vae" its autoencoder.
CAPABILITIES: dict[str, tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "attention_slicing": ("attention slicing", ("enable_attention_slicing",), {"denoiser": ("set_attention_slice",)}),
    "vae_slicing": ("VAE slicing", ("enable_vae_slicing",), {"vae": ("enable_slicing",)}),
    "vae_tiling": ("VAE tiling", ("enable_vae_tiling",), {"vae": ("enable_tiling",)}),
    "freeu": ("FreeU", ("enable_freeu",), {"denoiser": ("enable_freeu",)}),
    "fused_qkv": ("fused QKV projections", ("fuse_qkv_projections",), {"denoiser": ("fuse_qkv_projections",)}),
    "attn_processor": ("setting attention processors", (),
                       {"denoiser": ("set_attn_processor", "set_default_attn_processor")}),
    "lora": ("LoRA loading", ("load_lora_weights",), {"denoiser": ("load_lora_adapter",)}),
    "ip_adapter": ("IP-Adapter", ("load_ip_adapter",), {"denoiser": ("_load_ip_adapter_weights",)}),
}


class UnsupportedCapabilityError(ZooError, NotImplementedError):
    """A diffusers feature this model declares it cannot support (see its spec's ``unsupported``)."""


def label(capability: str) -> str:
    return CAPABILITIES[capability][0]


def check_names(names: Any) -> None:
    unknown = sorted(set(names) - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")


def refusal_message(model_id: str, capability: str, why: str) -> str:
    return f"{model_id} does not support {label(capability)}: {why.strip().rstrip('.')}"


def _refuser(model_id: str, capability: str, why: str):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedCapabilityError(refusal_message(model_id, capability, why))

    refuse.__name__ = refuse.__qualname__ = f"refuse_{capability}"
    return refuse


DENOISER_NAMES = ("unet", "transformer", "prior", "denoiser", "model")


def denoiser_name(pipe: Any) -> Any:
    """Which of the pipeline's attributes is its denoising network (``unet``, ``transformer``), or None."""
    return next((n for n in DENOISER_NAMES if hasattr(getattr(pipe, n, None), "parameters")), None)


def denoiser_of(pipe: Any) -> Any:
    """The pipeline's denoising network, or None."""
    name = denoiser_name(pipe)
    return getattr(pipe, name) if name else None


def install_refusals(model: Any, model_id: str, unsupported: dict[str, str]) -> None:
    """Make each declared capability's entry points on ``model`` (a pipeline or a component)
    raise UnsupportedCapabilityError. Instance attributes: the classes stay untouched."""
    if not unsupported:
        return
    is_pipeline = hasattr(model, "components")
    roles = {"denoiser": denoiser_of(model), "vae": getattr(model, "vae", None)} if is_pipeline else {}
    for cap, why in unsupported.items():
        _, pipe_methods, comp_methods = CAPABILITIES[cap]
        fn = _refuser(model_id, cap, why)
        targets: list[tuple[Any, tuple[str, ...]]] = []
        if is_pipeline:
            targets.append((model, pipe_methods))
            targets += [(roles[r], m) for r, m in comp_methods.items() if roles.get(r) is not None]
        else:  # a component id: refuse on the module itself
            targets += [(model, m) for m in comp_methods.values()]
        for obj, methods in targets:
            for m in methods:
                object.__setattr__(obj, m, fn)
