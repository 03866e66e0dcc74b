"""Specs of EDiT / MM-EDiT (plain data: no torch): the techniques ``edit`` / ``mm-edit`` and the
models ``edit-pixart-sigma``, ``mm-edit-sd35m`` and their ``-tiny`` variants (upstream teachers with
the conversion applied at build time)."""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef, TechniqueSpec

PAPER = PaperRef(
    title="EDiT: Efficient Diffusion Transformers with Linear Compressed Attention", arxiv="2503.16726",
    venue="ICCV", year=2025, authors="Samsung AI Center Cambridge",
)

CHOICES = {
    "ratio": Choice(value=4, why="ConvFusion's 3x3 conv reduces C -> C/r; the paper does not give r",
                    field="technique option: ratio (config: transformer.edit_ratio)"),
    "groups": Choice(value=32, why="GroupNorm groups in ConvFusion (the largest common divisor with C/r where 32 "
                     "does not divide it, e.g. the tiny models)", field="technique option: groups"),
    "slope": Choice(value=0.2, why="LeakyReLU slope in ConvFusion", field="technique option: slope"),
    "convs": Choice(value="dense 3x3 and 1x1 convs in ConvFusion", why="the paper does not say depthwise"),
    "zero_init": Choice(value="ConvFusion's last 1x1 conv starts at zero",
                        why="a fresh conversion then computes exactly ReLU(W_Q X) linear attention (tested)"),
    "kv_init": Choice(value="K/V depthwise 3x3 stride-2 convs as averaging kernels (1/9), padding 1, zero bias",
                      why="starts the compressed keys/values as local means of the teacher's"),
    "eps": Choice(value=1e-6, why="linear-attention denominator epsilon; K^T V accumulated in float32",
                  field="technique option: eps"),
    "convfusion": Choice(value=True, why="False gives the paper's 'without ConvFusion on Q' ablation",
                         field="technique option: convfusion"),
    "trainable": Choice(value="new attention modules + the converted layers' q/k/v/out projections; rest frozen",
                        why="the paper distils the attention; which weights move is not stated",
                        field="train config: trainable"),
    "distillation": Choice(value="task loss + output MSE + per-layer attention-output MSE (weights 1, 1, 1)",
                           why="the paper names the three terms without their weights",
                           field="train config: w_task, w_out, w_attn"),
    "clean_latents": Choice(value="the teacher's own unguided samples (guidance 1) of the recipe's prompts; 10% of "
                            "training examples with the empty prompt",
                            why="no dataset can be downloaded; guided samples as task-loss data made the student "
                            "apply guidance twice (mini-pixart FD to real digits 49-54 vs the teacher's 37-40; "
                            "unguided 37-41, benchmarks/edit_miniature.py), and the empty-prompt branch is the one "
                            "classifier-free guidance subtracts", field="train config: sample_guidance, uncond_prob"),
}
MM_CHOICES = {
    **CHOICES,
    "eta": Choice(value="N_I / (N_I + N_P) with the uncompressed image-token count",
                  why="the paper writes eta ~ N_I/(N_I+N_P); a fixed value can be set",
                  field="technique option: eta"),
    "prompt_rows": Choice(value="prompt queries attend to [compressed K_I; K_P] with softmax",
                          why="keeps every prompt interaction softmax at N/4 image keys"),
    "dual": Choice(value=True, why="SD3.5-M's extra image-only self-attention (MMDiT-X blocks 0-12) is converted "
                   "to EDiT attention too", field="technique option: dual"),
}

TECHNIQUES = [
    TechniqueSpec(
        id="edit", paper=PAPER, choices=CHOICES, training_free=False, recipes=["edit-distill"],
        applies_to=["pixart-sigma", "pixart-sigma-tiny", "mini-pixart", "mini-pixart-tiny"],
        summary="EDiT: image self-attention of a PixArt transformer as linear compressed attention (ConvFusion "
                "queries, stride-2 depthwise-compressed keys/values); cross-attention stays softmax.",
    ),
    TechniqueSpec(
        id="mm-edit", paper=PAPER, choices=MM_CHOICES, training_free=False, recipes=["edit-distill"],
        applies_to=["sd35-medium", "sd35-medium-tiny"],
        summary="MM-EDiT: SD3 joint attention with image->image linear compressed attention and every prompt "
                "interaction softmax (eta = N_I/(N_I+N_P)); MMDiT-X extra self-attention converted too.",
    ),
]

# The paper's GPU latency per transformer forward of EDiT-PixArt-Sigma (teacher in the notes)
REPORTED = {"transformer_gpu1024_latency_ms": 34.0, "transformer_gpu2048_latency_ms": 121.0,
            "transformer_gpu4096_latency_ms": 461.0}
_CPU = ("benchmarks/edit_latency.py measures the ratio original/EDiT per forward on CPU (interleaved; shared 2-core "
        "VM under load): ")
REPORTED_NOTES = {
    "transformer_gpu1024_latency_ms": "paper: teacher 47 ms -> 34 ms (1.4x). " + _CPU + "whole 28-block transformer "
                                      "at full size 1.28x at 1024^2 (205 s -> 160 s), 0.82x at 512^2",
    "transformer_gpu2048_latency_ms": "paper: teacher 387 ms -> 121 ms (3.2x). " + _CPU + "whole 28-block transformer "
                                      "at full size 2.02x at 2048^2 (1099 s -> 544 s, one forward each, peak memory "
                                      "3242 vs 3580 MiB); benchmarks/edit_macs.py counts 26.2 -> 10.4 TMACs (2.51x)",
    "transformer_gpu4096_latency_ms": "paper: teacher 4.77 s -> 0.461 s (10.3x); benchmarks/edit_macs.py counts "
                                      "312.5 -> 41.7 TMACs (7.5x) at 4096^2, 28 blocks, attention included",
}


def _pixart_components(latent: int, caption: int, text_len: int) -> list[ComponentSpec]:
    return [
        ComponentSpec(name="text_encoder", class_name="T5EncoderModel", inputs={"input_ids": [1, text_len]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="transformer", class_name="EDiTPixArtTransformer2DModel", inputs={
            "hidden_states": [1, 4, latent, latent], "encoder_hidden_states": [1, text_len, caption], "timestep": [1]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def _sd3_components(latent: int, joint: int, pooled: int, t5_len: int) -> list[ComponentSpec]:
    ids = {"input_ids": "int64"}
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModelWithProjection", inputs={"input_ids": [1, 77]},
                      input_dtypes=ids),
        ComponentSpec(name="text_encoder_2", class_name="CLIPTextModelWithProjection", inputs={"input_ids": [1, 77]},
                      input_dtypes=ids),
        ComponentSpec(name="text_encoder_3", class_name="T5EncoderModel", inputs={"input_ids": [1, t5_len]},
                      input_dtypes=ids),
        ComponentSpec(name="transformer", class_name="MMEDiTSD3Transformer2DModel", inputs={
            "hidden_states": [1, 16, latent, latent], "encoder_hidden_states": [1, 77 + t5_len, joint],
            "pooled_projections": [1, pooled], "timestep": [1]}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 16, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


# Capabilities that would silently undo the conversion (they swap every attention processor)
UNSUPPORTED = {
    "attn_processor": "EDiT's linear attention is the model's attention processor; replacing it would silently "
                      "bring back softmax attention without the trained modules",
    "attention_slicing": "slicing swaps in sliced softmax processors, which would drop EDiT's linear attention",
    "fused_qkv": "EDiT's queries pass through ConvFusion before W_Q and its keys/values through the compressor, "
                 "so Q/K/V cannot share one fused projection",
}
MM_UNSUPPORTED = {**UNSUPPORTED, "ip_adapter": "SD3's IP-Adapter replaces every joint attention processor with its "
                  "own softmax one, which would drop MM-EDiT's linear attention"}
TINY_NOTE = "Random weights by design: runs the same code paths as {id} in well under a second (plumbing tests)."


def all_specs() -> list[ModelSpec]:
    pix = dict(family="edit", task="text-to-image", license="openrail++", paper=PAPER, choices=CHOICES,
               export_targets=["onnx"], unsupported=UNSUPPORTED, reported=REPORTED,
               reported_notes=REPORTED_NOTES,
               pipeline_class="PixArtSigmaPipeline")
    mm = dict(family="mm-edit", task="text-to-image", license="other", license_name="stabilityai-ai-community",
              license_link="https://huggingface.co/stabilityai/stable-diffusion-3.5-medium/blob/main/LICENSE.md",
              paper=PAPER, choices=MM_CHOICES, export_targets=["onnx"], unsupported=MM_UNSUPPORTED,
              pipeline_class="StableDiffusion3Pipeline")
    return [
        ModelSpec(id="edit-pixart-sigma", **pix, resolution=1024, base_model="PixArt-alpha/PixArt-Sigma-XL-2-1024-MS",
                  summary="PixArt-Sigma XL/2 with EDiT linear compressed image self-attention (no weights released: "
                          "convert + distil with `zoo train pixart-sigma --recipe edit-distill`).",
                  components=_pixart_components(128, 4096, 300), config={"base": "pixart-sigma", "technique": "edit"},
                  tags=["dit", "pixart", "linear-attention"]),
        ModelSpec(id="edit-pixart-sigma-tiny", **pix, resolution=64,
                  summary=f"edit-pixart-sigma at toy widths. {TINY_NOTE.format(id='edit-pixart-sigma')}",
                  components=_pixart_components(8, 32, 16), config={"base": "pixart-sigma-tiny", "technique": "edit"},
                  tags=["dit", "pixart", "tiny", "test"]),
        ModelSpec(id="mm-edit-sd35m", **mm, resolution=1024, base_model="stabilityai/stable-diffusion-3.5-medium",
                  summary="SD3.5-Medium with MM-EDiT joint attention (image->image linear, prompt interactions "
                          "softmax) and EDiT extra self-attention (no weights released).",
                  components=_sd3_components(128, 4096, 2048, 256), config={"base": "sd35-medium", "technique": "mm-edit"},
                  tags=["mmdit", "stable-diffusion-3", "linear-attention"]),
        ModelSpec(id="mm-edit-sd35m-tiny", **mm, resolution=64,
                  summary=f"mm-edit-sd35m at toy widths. {TINY_NOTE.format(id='mm-edit-sd35m')}",
                  components=_sd3_components(8, 64, 64, 16), config={"base": "sd35-medium-tiny", "technique": "mm-edit"},
                  tags=["mmdit", "stable-diffusion-3", "tiny", "test"]),
    ]
