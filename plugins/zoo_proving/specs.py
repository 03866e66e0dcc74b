"""ModelSpecs of the proving ground's digits teachers (mini-sd, mini-dit, mini-pixart) and their
``-tiny`` variants. Plain data: no torch import."""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec

from .digit_models import LATENT, LATENT_CHANNELS, pipeline_config
from .tokenizers import CLIP_MAX_LENGTH

PACKAGE = "zoo_proving"
DATA = "scikit-learn load_digits (1,500 training images of 1,797, upsampled to 32x32 RGB; 297 held out)"
MINIATURE = ("A miniature model of the zoo's proving ground, trained from scratch on CPU on {data}: it draws "
             "32x32 handwritten digits and nothing else. Its weights ship inside the zoo_proving package.")
TINY_NOTE = "Random weights by design: runs the same code paths as {id} in well under a second (plumbing tests)."

CHOICES = {
    "latent": Choice(value="AutoencoderKL 32x32x3 -> 4x8x8, trained on the digits",
                     why="latent space at 8x8 keeps each teacher's CPU training to a few minutes",
                     field="train config: vae_steps, vae_lr, vae_kl_weight"),
    "sampler": Choice(value="DDIMScheduler", why="few-step deterministic sampling over SD's scaled-linear schedule",
                      field="config: scheduler"),
    "training": Choice(value="AdamW, lr 2e-3 cosine to 10%, batch 64, 1,500 steps, condition dropped 10%",
                       why="a high learning rate and few steps to fit the CPU budget; the dropped condition "
                           "trains the unconditional branch of classifier-free guidance",
                       field="train config: steps, lr, batch_size, uncond_prob"),
}


def _vae_components():
    return [
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL",
                      inputs={"latent_sample": [1, LATENT_CHANNELS, LATENT, LATENT]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, 32, 32]}),
    ]


def _components(kind: str, tiny: bool = False):
    """Export / cost components at the variant's own widths (a -tiny text width differs), with example ids
    inside the miniature vocabulary."""
    lat = [1, LATENT_CHANNELS, LATENT, LATENT]
    comps = pipeline_config(kind, tiny)["components"]
    if kind == "sd":
        text = comps["text_encoder"]["config"]
        den = [
            ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, CLIP_MAX_LENGTH]},
                          input_dtypes={"input_ids": "int64"}, input_high={"input_ids": text["vocab_size"]}),
            ComponentSpec(name="unet", class_name="UNet2DConditionModel",
                          inputs={"sample": lat, "timestep": [1], "encoder_hidden_states":
                                  [1, CLIP_MAX_LENGTH, comps["unet"]["config"]["cross_attention_dim"]]}),
        ]
    elif kind == "dit":
        den = [ComponentSpec(name="transformer", class_name="DiTTransformer2DModel",
                             inputs={"hidden_states": lat, "timestep": [1], "class_labels": [1]},
                             input_dtypes={"class_labels": "int64"}, input_high={"class_labels": 10})]
    else:
        text = comps["text_encoder"]["config"]
        den = [
            ComponentSpec(name="text_encoder", class_name="T5EncoderModel", inputs={"input_ids": [1, 8]},
                          input_dtypes={"input_ids": "int64"}, input_high={"input_ids": text["vocab_size"]}),
            ComponentSpec(name="transformer", class_name="PixArtTransformer2DModel",
                          inputs={"hidden_states": lat, "timestep": [1], "encoder_hidden_states": [1, 8, text["d_model"]]}),
        ]
    return den + _vae_components()


TEACHERS = {
    "sd": ("mini-sd", "text-to-image", "SD-style latent text-to-image pipeline (tiny VAE, tiny CLIP text encoder, "
           "UNet with cross-attention) on digits prompts: pipe('a handwritten digit 7') draws a 7."),
    "dit": ("mini-dit", "class-conditional-generation", "Class-conditional DiT on the digits (DiTPipeline: "
            "pipe(class_labels=[7]) draws a 7)."),
    "pixart": ("mini-pixart", "text-to-image", "PixArt-style text-conditional transformer (tiny T5 encoder, "
               "PixArtTransformer2DModel) on digits prompts."),
}


def all_specs() -> list[ModelSpec]:
    out = []
    for kind, (mid, task, what) in TEACHERS.items():
        common = dict(family="mini", task=task, license="apache-2.0", resolution=32, choices=CHOICES,
                      export_targets=["onnx"])
        out.append(ModelSpec(
            id=mid, summary=f"{what} {MINIATURE.format(data=DATA)}", shipped_weights=f"{PACKAGE}:weights/{mid}",
            config={**pipeline_config(kind), "kind": kind, "example_prompt": "a handwritten digit 7", "example_class": 7,
                    # the classes mini-dit was trained on, named as DiTPipeline's id2label (the demo's class picker)
                    **({"id2label": {str(d): f"digit {d}" for d in range(10)}} if kind == "dit" else {})},
            tags=["proving-ground", "miniature", "digits", "teacher"] + (["demo-default"] if kind == "sd" else []),
            components=_components(kind), **common))
        out.append(ModelSpec(
            id=f"{mid}-tiny", summary=f"{mid} at toy widths. {TINY_NOTE.format(id=mid)}",
            config={**pipeline_config(kind, tiny=True), "kind": kind}, tags=["proving-ground", "tiny", "test"],
            components=_components(kind, tiny=True), **common))
    return out
