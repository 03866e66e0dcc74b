"""TechniqueSpecs of FraQAT and QUAD / LoRA-as-input (plain data: no torch)."""
from __future__ import annotations

from zoo import Choice, PaperRef, TechniqueSpec

FRAQAT_PAPER = PaperRef(
    title="FraQAT: Quantization Aware Training with Fractional bits", arxiv="2510.14823", year=2025,
    authors="Samsung AI Center Cambridge",
)
QUAD_PAPER = PaperRef(
    title="QUAD: quantisation-aware LoRA adapters as runtime inputs of one compiled diffusion model",
    arxiv="2603.29535", venue="CVPR", year=2026, authors="Samsung Research Bangalore",
)

# [paper] the schedule and its epoch split
PAPER_SCHEDULE = [8.0, 7.0, 6.0, 5.5, 5.0, 4.75, 4.5, 4.25, 4.0]
PAPER_EPOCHS = [1, 1, 1, 1, 1, 2, 2, 2, 14]

FRAQAT_CHOICES = {
    "rounding": Choice(value="straight-through estimator",
                       why="the paper trains through round(); STE is the standard gradient for it"),
    "per_channel": Choice(value=False, why="per-tensor weight scales as the paper; per-output-channel is an option"),
    "kd_loss": Choice(value="mse", why="MSE between the frozen full-precision and the quantised denoiser outputs"),
    "timesteps": Choice(value="uniform", why="t ~ U{0..T-1}, teacher latents re-noised at t (the paper does not say)"),
    "kd_data": Choice(
        value="latents the full-precision pipeline generates from the calibration prompts, with its conditioning",
        why="the paper uses YE-POP images; no data can be downloaded here, and pure KD needs only inputs"),
    "fractional_scale": Choice(
        value="S = max|W| / (floor(2^(b-1)) - 1)",
        why="equals the paper's max|W| / (2^(b-1) - 1) at integer b; at fractional b it puts max|W| on the top "
            "code of the paper's integer range instead of past it"),
    "activation_zero_point": Choice(
        value="integer zero point, codes clamped to [0, 2^b - 1]",
        why="so 0.0 is exact and the uint8 QDQ export computes the same values as the fake-quant model"),
    "static_ranges": Choice(
        value="per layer input: [mean(min) - 3 sigma(min), mean(max) + 3 sigma(max)] of per-sample min/max",
        why="the paper's 'mean +- 3 sigma over 100 samples' applied to the min/max the training quantiser used"),
    "quantised_components": Choice(value=["transformer", "unet"],
                                   why="the denoiser holds the linear layers the paper quantises"),
    "epoch_steps": Choice(value="one pass over the KD latents per epoch (ceil(samples / batch) steps)",
                          why="the paper's epochs are over YE-POP; ours are over the generated KD set"),
}

QUAD_CHOICES = {
    "lora_forward": Choice(value="y = linear(x, W) + alpha * linear(linear(x, B), A)",
                           why="the spec's LoRAInputLinear; A: [out, r], B: [r, in]"),
    "rank": Choice(value=8, why="fixed at export; smaller LoRAs zero-padded, unused layers fed zeros"),
    "kd_lambda": Choice(value=1.0, why="L = L_denoise + lambda * ||f_teacher - f_student||^2 with lambda = 1"),
    "js_over": Choice(value="softmax over channels of the denoiser output",
                      why="the QSS divergence needs distributions; the channels of each output position give one"),
    "precision": Choice(value="w8a16", why="the paper's precision; all-W8A8 collapses (FID 599)"),
}

ALL_MODELS = ["*"]


def techniques() -> list[TechniqueSpec]:
    return [
        TechniqueSpec(
            id="fraqat", applies_to=ALL_MODELS, paper=FRAQAT_PAPER, choices=FRAQAT_CHOICES, training_free=False,
            recipes=["fraqat"],
            summary="Fractional-bit QAT: fake-quantised linear layers (W4A8) trained by pure KD through the schedule "
                    "8,7,6,5.5,5,4.75,4.5,4.25,4; real 4-bit packed weights and QDQ/encodings export.",
        ),
        TechniqueSpec(
            id="lora-inputs", applies_to=ALL_MODELS, paper=QUAD_PAPER, choices=QUAD_CHOICES, training_free=True,
            summary="LoRA weights as graph inputs: one base graph, each task's LoRA bound at run time "
                    "(switch by name, no rebuild); QUAD shared quantisation encodings.",
        ),
    ]
