"""ModelSpecs of the NanoSD family (plain data: no torch)."""
from __future__ import annotations

from zoo import Choice, ComponentSpec, ModelSpec, PaperRef

from .choices import DECODER_OPTIONS, ENCODER_OPTIONS, ORIGINAL
from .variants import VARIANTS, Variant

PAPER = PaperRef(
    title="NanoSD: Edge Efficient Foundation Model for Real Time Image Restoration",
    arxiv="2601.09823", venue="CVPR", year=2026,
    authors="Subhajit Sanyal, Srinivas Soumitri Miriyala, Akshay Janardan Bankar, Sravanth Kodavanti, "
            "Manjunath Arveti, Harshit, Abhishek Ameta, Shreyas Pandith, Amit Satish Unde",
)
SD15_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"

VAE_FULL = {"block_out_channels": [64, 64, 64, 64], "encoder_layers_per_block": [1, 2, 4, 18],
            "decoder_layers_per_block": [1, 2, 3, 10], "norm_num_groups": 32, "sample_size": 512}
VAE_TINY = {"block_out_channels": [16, 16, 16, 16], "encoder_layers_per_block": [1, 1, 1, 1],
            "decoder_layers_per_block": [1, 1, 1, 1], "norm_num_groups": 4, "sample_size": 64}

COMMON_CHOICES = {
    "option_sets": Choice(
        value={"encoder": list(ENCODER_OPTIONS), "decoder": list(DECODER_OPTIONS)},
        why="R = ResNet, A = transformer; 4 encoder x 8 decoder options give the paper's 4*4*4*8*8*8 = 32,768 UNets. "
            "The search may use any subsets that keep the original stages.",
        field="train config: option_sets",
    ),
    "weight_mapping": Choice(
        value="k-th R <- teacher stage's k-th ResNet; an A after ResNet j <- teacher transformer j",
        why="Each kept block starts from the teacher block at the same place and so sees inputs like the ones it "
            "was trained on; parameter names stay those of UNet2DConditionModel.",
    ),
    "skip_connections": Choice(
        value="encoder stages re-emit their last output for dropped ResNet slots; decoder ResNet k concatenates the "
              "k-th skip in pop order and unused skips are ignored",
        why="Every stage keeps its original number of skip outputs/inputs, so all 32,768 combinations assemble.",
    ),
    "fwgd_teacher": Choice(
        value="nanosd-l",
        why="The 3-stage surgery UNet initialised from SD1.5: its stages see the inputs the students' stages will "
            "see in the assembled network (D3 reads E3's output, not D4's). The only FwGD teacher implemented.",
        field="train config: fwgd_teacher",
    ),
    "vae": Choice(
        value={"block": "diffusers ResnetBlock2D, no attention", "width": 64,
                "encoder_layers_per_level": VAE_FULL["encoder_layers_per_block"],
                "decoder_layers_per_level": VAE_FULL["decoder_layers_per_block"]},
        why="Depths set so the encoder has 1.97M and the decoder 1.30M params (paper: ~2M / ~1.3M), with most blocks "
            "at the latent resolution where they cost the fewest MACs.",
        field="config: vae",
    ),
    "vae_decoder_loss": Choice(
        value="MSE of 1x1-projected student features to teacher decoder features at f/8, f/4, f/2, f/1 (each "
              "normalised by the teacher feature's mean square) + image MSE",
        why="The paper says feature matching without details; these are the resolutions both decoders share.",
        field="train config: vae_loss (encoder_weight, feature_weight, pixel_weight)",
    ),
    "vae_loss_weights": Choice(
        value={"encoder_weight": 1.0, "feature_weight": 1.0, "pixel_weight": 1.0},
        why="The paper names the loss terms, not their weights; feature terms are normalised per level so equal "
            "weights weigh the terms alike.",
        field="train config: vae_loss",
    ),
    "training_data": Choice(
        value="--data images with captions -> teacher VAE latents; a prompts.txt -> teacher-generated latents",
        why="The paper does not name its data; stage inputs should come from the teacher's own distribution. "
            "Random latents are refused at full size.",
        field="train config: dataset.latents",
    ),
    "search_fidelity": Choice(
        value="noise_mse",
        why="Teacher-aligned noise-prediction MSE on held-out noised latents, not the paper's taFID (which needs "
            "Inception weights and thousands of samples); 'tafid' is selectable.",
        field="train config: search_fidelity",
    ),
    "search_latency": Choice(
        value="host-CPU latency of the assembled UNet (when search.cost='latency_ms')",
        why="The paper's latency is measured on the phone NPU, which the zoo cannot reach; the default cost is "
            "params (search.cost='params'), with MACs also recorded.",
        field="train config: search.cost",
    ),
    "align_vae": Choice(
        value="frozen student VAE during alignment",
        why="The paper aligns the student UNet end to end without saying whether the VAE moves; freezing it keeps "
            "the VAE's own distillation intact.",
        field="train config: align.train_vae",
    ),
}


def _components(latent: int, hidden: int) -> list[ComponentSpec]:
    return [
        ComponentSpec(name="text_encoder", class_name="CLIPTextModel", inputs={"input_ids": [1, 77]},
                      input_dtypes={"input_ids": "int64"}),
        ComponentSpec(name="unet", class_name="NanoSDUNet",
                      inputs={"sample": [1, 4, latent, latent], "timestep": [1], "encoder_hidden_states": [1, 77, hidden]}),
        ComponentSpec(name="vae_decoder", class_name="NanoSDTinyVAE", inputs={"latent_sample": [1, 4, latent, latent]}),
        ComponentSpec(name="vae_encoder", class_name="NanoSDTinyVAE", inputs={"sample": [1, 3, latent * 8, latent * 8]}),
    ]


def _spec(v: Variant) -> ModelSpec:
    tiny = v.teacher.endswith("-tiny")
    if tiny:
        summary = "NanoSD tiny: the NanoSD classes and code paths at toy widths, random weights: for tests."
    else:
        name = v.id.split('-', 1)[1].upper()
        if v.stage_choices == ORIGINAL:
            summary = (f"NanoSD {name}: SD1.5's UNet cut to three stages ({v.target_params_m:g}M params, every kept "
                       "block SD1.5's own) + NanoSD's tiny VAE; the teacher the smaller variants are distilled from.")
        else:
            summary = (f"NanoSD {name}: the {v.target_params_m:g}M-param UNet architecture of {v.paper_name} "
                       "(SD1.5 cut to three stages, per-stage blocks chosen for phone NPUs) + a tiny VAE; its "
                       "weights come from block distillation from SD1.5 (`zoo train`).")
    reported = dict(v.reported)
    if not tiny:
        reported.update({"vae_encoder_params_m": 2.0, "vae_decoder_params_m": 1.3})
    return ModelSpec(
        id=v.id, family="nanosd", task="text-to-image", summary=summary,
        base_model=SD15_REPO, license="creativeml-openrail-m", hub_repo=None, paper=PAPER,
        components=_components(8, 32) if tiny else _components(64, 768),
        choices={"stage_choices": Choice(value=list(v.stage_choices), why=v.why, field="config: unet.stage_choices"), **COMMON_CHOICES},
        aliases=list(v.aliases), resolution=64 if tiny else 512, reported=reported,
        tags=["nanosd", "stable-diffusion", "distillation", "on-device", *(["tiny", "test"] if tiny else [])],
        export_targets=["onnx", "coreml", "qnn"], pipeline_class="StableDiffusionPipeline",
        config={"teacher": v.teacher, "unet": {"stage_choices": list(v.stage_choices)},
                "vae": VAE_TINY if tiny else VAE_FULL, "target_unet_params_m": v.target_params_m},
    )


def all_specs() -> list[ModelSpec]:
    return [_spec(v) for v in VARIANTS.values()]
