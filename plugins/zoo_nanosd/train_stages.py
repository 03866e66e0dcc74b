"""The recipe's training stages: FwGD of the surrogate blocks (``block``), the tiny VAE
(``vae``) and the alignment of the chosen student (``align``), which saves the pipeline."""
from __future__ import annotations

import json
from typing import Any

from zoo import atomic
from zoo.distill import AlignConfig

from .train_run import Run
from .train_search import chosen_arch


def stage_block(run: Run) -> dict[str, Any]:
    """Capture nanosd-l's stage I/O and distil the 30 surrogate blocks (sharded across ranks)."""
    from zoo.distill import capture_and_distill

    cfg = run.cfg
    return capture_and_distill(run.teacher_l, run.stage_paths, run.candidates(), run.batch, _ddpm(), cfg.capture,
                               cfg.blocks, run.out, seed=cfg.seed, device=run.device, resume=cfg.resume,
                               progress=run.progress, state=run.state)


def _ddpm() -> Any:
    from zoo.distill import ddpm

    return ddpm(AlignConfig())


def stage_vae(run: Run) -> dict[str, Any]:
    """Tiny VAE: encoder ||mu_t-mu_s||^2 + ||sigma_t-sigma_s||^2, decoder feature matching."""
    from zoo.distill import train

    from .build import build_vae
    from .vae_losses import DecoderFeatureLoss, encoder_posterior_loss, teacher_decoder_features

    cfg, tvae = run.cfg, run.pipe.vae
    import torch

    torch.manual_seed(cfg.seed)
    svae = build_vae(run.spec).to(run.device)
    w = cfg.vae_loss
    feat_loss = DecoderFeatureLoss.for_models(svae, tvae, pixel_weight=w.pixel_weight,
                                              feature_weight=w.feature_weight).to(run.device)

    def loss(step: int, gen: Any) -> Any:
        batch = run.batch(gen, cfg.vae.batch_size)
        x = run.images_for(batch)
        with torch.no_grad():
            post_t = tvae.encode(x).latent_dist
            z = post_t.mean  # both decoders read the teacher's latent (same latent space)
            img_t, feats_t = teacher_decoder_features(tvae, z)
        enc = encoder_posterior_loss(post_t, svae.encode(x).latent_dist)
        img_s, feats_s = svae.decode_with_features(z)
        return w.encoder_weight * enc + feat_loss(img_s, feats_s, img_t, feats_t)

    vcfg = cfg.vae
    r = train({"vae": svae, "feature_proj": feat_loss}, loss, vcfg, run.out / "vae", desc="distil tiny VAE",
              key="vae", resume=cfg.resume, progress=run.progress)
    return {"final_loss": r.final_loss}


def stage_align(run: Run) -> dict[str, Any]:
    """Align the chosen student to the reference teacher; save the pipeline and the numbers."""
    import torch

    from zoo.distill import align_student, load_weights

    from .build import build_vae

    cfg = run.cfg
    arch = chosen_arch(run)
    svae = None
    if cfg.use_student_vae and (run.out / "vae" / "vae.safetensors").is_file():
        svae = load_weights(run.out / "vae" / "vae.safetensors", build_vae(run.spec)).to(run.device).eval()
        svae.requires_grad_(cfg.align.train_vae)
    numbers: dict[str, Any] = {"arch": dict(zip(run.stage_names, arch)), "reference": cfg.reference,
                               "student_vae": svae is not None}
    with torch.no_grad():
        numbers["error_fresh_blocks"] = run.noise_error(run.student(arch, "fresh"))
        numbers["error_teacher_init_blocks"] = run.noise_error(run.student(arch, "teacher"))
        numbers["error_distilled"] = run.noise_error(run.student(arch))
        if svae is not None:
            numbers["error_distilled_student_vae"] = run.noise_error(run.student(arch), svae)
    student = run.student(arch)
    student.requires_grad_(True)

    def batch_fn(step: int, gen: Any) -> dict[str, Any]:
        batch = run.batch(gen, cfg.align.batch_size)
        if svae is not None:
            ctx = torch.enable_grad() if cfg.align.train_vae else torch.no_grad()
            with ctx:
                batch["z_s"] = svae.encode(run.images_for(batch)).latent_dist.mean * run.sf
        return batch

    trainable = {"unet": student, **({"vae": svae} if svae is not None and cfg.align.train_vae else {})}
    acfg = cfg.align.model_copy(update={"out_dir": run.out / "align"})
    r = align_student(student, run.reference, batch_fn, acfg, trainable=trainable, resume=cfg.resume,
                      progress=run.progress, device=run.device)
    load_weights(run.out / "align" / "unet.safetensors", student)
    student.eval()
    with torch.no_grad():
        numbers["error_aligned"] = run.noise_error(student)
        if svae is not None:
            numbers["error_aligned_student_vae"] = run.noise_error(student, svae)
    numbers["align_final_loss"] = r.final_loss
    # what alignment optimises: the student on its own VAE's latents when it has one
    tag = "_student_vae" if svae is not None else ""
    numbers["error_before_align"] = numbers[f"error_distilled{tag}"]
    numbers["error_after_align"] = numbers[f"error_aligned{tag}"]
    _save_pipeline(run, student, svae)
    atomic.write_text(run.out / "report.json", json.dumps(numbers, indent=1))
    return numbers


def _save_pipeline(run: Run, unet: Any, svae: Any) -> None:
    from zoo.building import build_pipeline

    vae = svae if svae is not None else run.pipe.vae
    pipe = build_pipeline("StableDiffusionPipeline", {
        "unet": unet.to("cpu"), "vae": vae.to("cpu"), "text_encoder": run.pipe.text_encoder.to("cpu"),
        "tokenizer": run.pipe.tokenizer, "scheduler": run.pipe.scheduler,
    }, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    # a resumed align saves again: the old folder is swapped out only once the new one is complete
    with atomic.write_dir(run.out / "pipeline", overwrite=True) as tmp:
        pipe.save_pretrained(str(tmp), safe_serialization=True)
    run.pipe.text_encoder.to(run.device)
    unet.to(run.device)
    if svae is not None:
        svae.to(run.device)
