"""ModelSpecs of EC (ec-sd15, ec-nanosd-m, ec-tiny, ec-mini). Plain data: no torch import."""
from __future__ import annotations

from importlib.resources import files

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

PACKAGE = "zoo_ec"
PAPER = PaperRef(title="Guidance Free Image Editing via Explicit Conditioning", arxiv="2503.17593", year=2025)
UNSUPPORTED = {
    "lora": "the EC pipeline does not wire diffusers' LoRA loaders yet (its prompt VAE has no LoRA target)",
    "ip_adapter": "EC conditions on the context image through the starting noise, not through image cross-attention",
}


def choices(fusion: str = "sum") -> dict[str, Choice]:
    return {
        "fusion": Choice(value=fusion, why="sum of independent Gaussians (mu_I + mu_P, var_I + var_P) is the zoo's "
                         "default; 'product' (precision-weighted) is the alternative", field="config: prompt_vae.fusion"),
        "variance_scale": Choice(value="learnable exp(s) on the fused variance, s initialised at 0",
                                 why="lets training set how far the start spreads around the fused mean",
                                 field="PromptVAE parameter log_var_scale"),
        "parameterisation": Choice(value="flow matching x_t = (1 - t) x + t y, velocity target y - x, Euler sampling",
                                   why="a straight path from the conditioned noise to the edit: few steps suffice",
                                   field="config: scheduler (FlowMatchEulerDiscreteScheduler)"),
        "prompt_vae": Choice(value="linear to a coarse map, nearest x2 upsampling + 3x3 convs to the latent size",
                             why="a small head: a dense layer straight to the full latent would cost tens of M weights",
                             field="config: prompt_vae (base_size, hidden_channels)"),
        "training": Choice(value="end to end (prompt VAE + UNet), loss = MSE(velocity) + kl_weight * KL(prompt "
                           "Gaussian || N(0, I)), kl_weight 1e-3, AdamW", why="the small KL keeps the prompt branch "
                           "near a unit Gaussian", field="train config: kl_weight, lr, steps, batch"),
        "init": Choice(value="the base model's UNet with a 4-channel input (extra image channels of an "
                       "InstructPix2Pix conv_in dropped)", why="the context image enters only through y",
                       field="config: base"),
    }


def _unet_comp(latent: int, text_len: int, hidden: int) -> ComponentSpec:
    return ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                         inputs={"sample": [1, 4, latent, latent], "timestep": [1], "encoder_hidden_states": [1, text_len, hidden]})


def _components(latent: int, text_len: int, hidden: int, image: int) -> list[ComponentSpec]:
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, text_len]},
                      input_dtypes={"input_ids": "int64"}),
        _unet_comp(latent, text_len, hidden),
        ComponentSpec(name="prompt_vae", class_name="PromptVAE", inputs={"pooled": [1, hidden]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, image, image]}),
    ]


def _config(base: str, hidden: int, latent: int, base_size: int, channels: int, steps: int, fusion: str = "sum") -> dict:
    return {
        "pipeline_class": "ECEditPipeline", "base": base,
        "prompt_vae": {"pooled_dim": hidden, "latent_channels": 4, "latent_size": latent, "base_size": base_size,
                       "hidden_channels": channels, "fusion": fusion},
        "call_kwargs": {"num_inference_steps": steps},
    }


def _shipped(mid: str) -> str | None:
    """'zoo_ec:weights/ID' once `zoo train ID --out plugins/zoo_ec/weights/ID` has written them."""
    return f"{PACKAGE}:weights/{mid}" if files(PACKAGE).joinpath("weights", mid, "model_index.json").is_file() else None


def all_specs() -> list[ModelSpec]:
    common = dict(family="ec", task="image-editing", license="apache-2.0", paper=PAPER, unsupported=UNSUPPORTED,
                  export_targets=["onnx"])
    full = "EC editing (one denoiser pass per step, no guidance) on a {what} UNet; random weights (none published, " \
           "no full-size training recipe yet: the trainer covers ec-mini / ec-tiny); cost on the meta device, " \
           "timing in benchmarks/ec_fullsize.py."
    return [
        ModelSpec(id="ec-sd15", summary=full.format(what="SD1.5", id="ec-sd15"), resolution=512,
                  components=_components(64, 77, 768, 512), config=_config("sd15", 768, 64, 8, 128, 20),
                  choices=choices(), tags=["editing", "guidance-free"], **common),
        ModelSpec(id="ec-nanosd-m", summary=full.format(what="NanoSD-M", id="ec-nanosd-m"), resolution=512,
                  components=_components(64, 77, 768, 512), config=_config("nanosd-m", 768, 64, 8, 128, 20),
                  choices=choices(), tags=["editing", "guidance-free", "on-device"], **common),
        ModelSpec(id="ec-mini", resolution=32, components=_components(16, 8, 64, 32),
                  summary="Miniature EC editor from the proving ground's mini-edit (32x32 photo crops; grayscale, "
                  "invert, flip, blur, brighten, inpaint, x4 SR), one UNet pass per step. Weights ship in the zoo_ec "
                  "package (`zoo train ec-mini`: 1,200 flow-matching steps from the trained mini-edit, CPU).",
                  config=_config("mini-edit", 64, 16, 4, 32, 10), choices=choices(), shipped_weights=_shipped("ec-mini"),
                  tags=["proving-ground", "miniature", "photos"], **common),
        ModelSpec(id="ec-tiny", resolution=32, components=_components(16, 8, 16, 32),
                  summary="EC at toy widths (from mini-edit-tiny). Random weights by design: runs the same code "
                  "paths in well under a second for tests.", config=_config("mini-edit-tiny", 16, 16, 4, 8, 2),
                  choices=choices(), tags=["tiny", "test"], **common),
    ]
