"""ModelSpecs of the EdgeDiT family (plain data: no torch)."""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

from .space import arch_to_blocks, narrow_widths
from .variants import VARIANTS, Variant

PAPER = PaperRef(
    title="EdgeDiT: Hardware-Aware Diffusion Transformers for Efficient On-Device Image Generation",
    arxiv="2603.28405", venue="CVPR", year=2026, authors="Samsung Research India",
)
DIT_REPO = "facebook/DiT-XL-2-256"

# DiT-XL/2's transformer (diffusers DiTTransformer2DModel config of facebook/DiT-XL-2-256)
TEACHER = {"num_attention_heads": 16, "attention_head_dim": 72, "in_channels": 4, "out_channels": 8, "num_layers": 28,
           "sample_size": 32, "patch_size": 2, "activation_fn": "gelu-approximate", "num_embeds_ada_norm": 1000,
           "attention_bias": True, "norm_elementwise_affine": False, "norm_eps": 1e-5, "mlp_ratio": 4.0}
TEACHER_TINY = {**TEACHER, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 6, "sample_size": 8}
NARROW = narrow_widths(TEACHER["num_attention_heads"], TEACHER["attention_head_dim"])  # 8 x 64 = 512
NARROW_TINY = narrow_widths(TEACHER_TINY["num_attention_heads"], TEACHER_TINY["attention_head_dim"])

COMMON_CHOICES = {
    "shared_embedder": Choice(
        value="one timestep + class embedder (emb.*) for all blocks and the output layer",
        why="The original DiT shares one; diffusers' DiTTransformer2DModel stores a copy per block (749.8M). The "
            "conversion checks that the copies are equal and keeps block 0's, so the teacher counts the paper's 675M; "
            "a DiT trained with the stock class (copies drifted apart) keeps its per-block embedders.",
        field="from_dit(embedders=...), config: transformer.per_block_embedders",
    ),
    "narrow_attention": Choice(
        value="q/k/v 1152 -> 512 (8 heads x 64), out 512 -> 1152; residual stream and adaLN stay 1152",
        why="The paper gives the 512 width; the head split keeps DiT's head size close (72 -> 64).",
    ),
    "reduced_init": Choice(
        value="kept heads/dims/hidden units by weight-norm importance; queries scaled by sqrt(64/72); merged pair "
              "from its first block",
        why="The paper says only that proxies are distilled; magnitude selection starts them near the teacher block.",
    ),
    "relaxation": Choice(
        value="x_i in [0,1] per teacher block, equal bins over {full, half-mlp, narrow-attn, narrow, merge (first "
              "block of a pair)}; the second block of a merged pair is ignored",
        why="The paper's 28-D relaxation without its rounding rule; this covers its 2^14 x 4^28 space.",
    ),
    "narrow_composition": Choice(
        value="a block with both reductions = attention (+ its adaLN third) of the narrow-attn proxy and MLP (+ its "
              "adaLN third) of the half-mlp proxy",
        why="Keeps the paper's 70 proxies (14 merge + 56 width) while every option of the space is a trained block.",
    ),
    "search_fidelity": Choice(
        value="teacher-aligned noise-prediction MSE on held-out noised latents",
        why="FID-50K needs Inception weights and 50K samples; the proxy needs neither (same role in the BO).",
    ),
    "training_data": Choice(
        value="latents the teacher samples itself (DDIM 25 steps, CFG 1.5, random classes)",
        why="ImageNet cannot be fetched here, and proxies need inputs from the teacher's own distribution; the "
            "miniature passes the proving ground's digits instead.",
        field="train config: dataset",
    ),
    "search_latency": Choice(
        value="sum of a per-block table: one block per width option + the rest, CPU-timed interleaved",
        why="The paper sums per-block on-device profiles; latency: aihub profiles the same blocks on a phone NPU "
            "through Qualcomm AI Hub when a token exists.",
        field="train config: latency, search.cost",
    ),
}


REPORTED_NOTES = {
    "transformer_gmacs": "half the paper's GFLOPs (237.34 / 143.96 / 169.97 at 2 FLOPs per MAC)",
    "iphone_ane_latency_ms": "paper: iPhone Neural Engine; the zoo times CPU ratios (benchmarks/edgedit_latency.py)",
    "s25_hexagon_latency_ms": "paper: Galaxy S25 Ultra Hexagon NPU",
}


def components(latent: int) -> list[ComponentSpec]:
    return [
        ComponentSpec(name="transformer", class_name="EdgeDiTTransformer2DModel",
                      inputs={"hidden_states": [1, 4, latent, latent], "timestep": [1], "class_labels": [1]},
                      input_dtypes={"class_labels": "int64"}),
        ComponentSpec(name="vae_decoder", class_name="AutoencoderKL", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="AutoencoderKL", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def _spec(v: Variant) -> ModelSpec:
    tiny = v.id.endswith("-tiny")
    teacher, narrow = (TEACHER_TINY, NARROW_TINY) if tiny else (TEACHER, NARROW)
    blocks = None if v.id == "edgedit-teacher" else arch_to_blocks(
        v.arch, teacher["num_layers"], heads=teacher["num_attention_heads"], head_dim=teacher["attention_head_dim"],
        mlp_ratio=teacher["mlp_ratio"], **narrow)
    if tiny:
        summary = "EdgeDiT tiny: the EdgeDiT classes and every kind of block at toy widths, random weights: for tests."
    elif v.id == "edgedit-teacher":
        summary = ("DiT-XL/2 in EdgeDiT's class (one shared embedder, 675M): the EdgeDiT teacher. Weights: convert "
                   "facebook/DiT-XL-2-256 with zoo_edgedit.from_dit.")
    else:
        summary = (f"EdgeDiT-{v.id.rsplit('-', 1)[1]}: DiT-XL/2 pruned for phone NPUs ({v.reported['transformer_params_m']:g}M "
                   "in the paper), class-conditional 256px. No weights published yet: train with `zoo train`.")
    choices = {"block_choices": Choice(value=list(v.arch), why=v.why,
                                       field="config: arch (train config student: search takes the searched one)"),
               **COMMON_CHOICES}
    return ModelSpec(
        id=v.id, family="edgedit", task="class-conditional-generation", summary=summary, base_model=DIT_REPO,
        license="cc-by-nc-4.0", paper=PAPER, components=components(teacher["sample_size"]),
        resolution=teacher["sample_size"] * 8, reported=dict(v.reported), choices=choices,
        reported_notes={k: n for k, n in REPORTED_NOTES.items() if k in v.reported},
        export_targets=["onnx", "coreml", "qnn"], pipeline_class="DiTPipeline",
        tags=["edgedit", "dit", "imagenet", "pruning", "on-device", *(["tiny", "test"] if tiny else [])],
        config={"teacher": "dit-xl-2-256-tiny" if tiny else "dit-xl-2-256", "arch": list(v.arch), "narrow": narrow,
                "transformer": {**teacher, "blocks": blocks}},
    )


def all_specs() -> list[ModelSpec]:
    return [_spec(v) for v in VARIANTS.values()]
