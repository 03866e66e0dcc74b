"""NanoSD's training config: every setting the recipe uses, with the paper's value or the
zoo's [choice] as default (the card's "Settings chosen by the zoo" names these fields)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zoo.distill import AlignConfig, BlockDistillConfig, CaptureConfig, SearchConfig, TrainConfig, validate

from .choices import DECODER_OPTIONS, ENCODER_OPTIONS, ORIGINAL


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_samples: int = Field(256, ge=2)
    n_eval: int = Field(16, ge=1, description="held-out samples for every teacher-aligned number")
    latents: Literal["auto", "images", "teacher", "random"] = Field(
        "auto", description="[choice] training data source: 'images' (--data images + captions, teacher VAE latents), "
        "'teacher' (latents the teacher generates from --data prompts.txt), 'random' (dry runs); 'auto' picks from --data")
    allow_random: bool = Field(
        False, description="allow N(0,1) latents for a full-size variant (they teach nothing: dry runs only); "
        "tiny variants always may")
    teacher_steps: int = Field(20, ge=1, description="denoising steps for teacher-generated latents")
    uncond_prob: float = Field(0.1, ge=0, le=1, description="[choice] empty-prompt rate, so CFG's branch is learnt too")


class OptionSets(BaseModel):
    """[choice] the per-stage options the search may pick (subsets of the paper's 4 encoder x 8 decoder)."""

    model_config = ConfigDict(extra="forbid")
    encoder: list[str] = Field(default_factory=lambda: list(ENCODER_OPTIONS))
    decoder: list[str] = Field(default_factory=lambda: list(DECODER_OPTIONS))

    @field_validator("encoder", "decoder")
    @classmethod
    def _known(cls, v: list[str], info: Any) -> list[str]:
        allowed = ENCODER_OPTIONS if info.field_name == "encoder" else DECODER_OPTIONS
        original = ORIGINAL[0] if info.field_name == "encoder" else ORIGINAL[-1]
        bad = [o for o in v if o not in allowed]
        if bad:
            raise ValueError(f"unknown {info.field_name} options {bad}; choose from {list(allowed)}")
        if original not in v:
            raise ValueError(f"the {info.field_name} options must keep the original stage {original!r}")
        return list(dict.fromkeys(v))


class VaeLossConfig(BaseModel):
    """[choice] weights of the tiny VAE's distillation loss (the paper names the terms, not their weights)."""

    model_config = ConfigDict(extra="forbid")
    encoder_weight: float = Field(1.0, ge=0, description="||mu_t-mu_s||^2 + ||sigma_t-sigma_s||^2")
    feature_weight: float = Field(1.0, ge=0, description="decoder feature matching at f/8..f/1")
    pixel_weight: float = Field(1.0, ge=0, description="image MSE against the teacher's decoding")


class NanoSDTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teacher: Optional[str] = Field(None, description="teacher zoo id (default: the variant's, e.g. sd15)")
    teacher_pretrained: bool = Field(True, description="False: random-init teacher (dry runs and tests)")
    data: Optional[Path] = None
    out_dir: Path = Path("runs/nanosd")
    stage: Literal["block", "search", "vae", "align", "all"] = "all"
    resume: bool = False
    device: Optional[str] = None
    seed: int = 0
    resolution: Optional[int] = Field(None, description="training resolution in pixels (default: the spec's)")
    data_cfg: DataConfig = Field(default_factory=DataConfig, alias="dataset")
    option_sets: OptionSets = Field(default_factory=OptionSets)
    fwgd_teacher: Literal["nanosd-l"] = Field(
        "nanosd-l", description="[choice] FwGD teacher: the 3-stage surgery UNet, whose stages see the inputs the "
        "students' stages will see (the only one implemented: the full UNet's D3 reads D4, which the students lack)")
    capture: CaptureConfig = Field(default_factory=lambda: CaptureConfig(n_batches=64, batch_size=4))
    blocks: BlockDistillConfig = Field(default_factory=lambda: BlockDistillConfig(steps=2000, lr=1e-4, checkpoint_every=200))
    search: SearchConfig = Field(default_factory=lambda: SearchConfig(n_trials=60, n_startup_trials=12))
    search_fidelity: Literal["noise_mse", "tafid"] = Field(
        "noise_mse", description="[choice] the search's fidelity: 'noise_mse' (teacher-aligned noise-prediction MSE "
        "on held-out noised latents, the zoo's default) or 'tafid' (the paper's: FID of the student's images against "
        "the teacher's)")
    tafid_features: Literal["auto", "inception", "digits"] = Field(
        "auto", description="taFID features: 'inception' (needs its weights), 'digits' (the proving ground's digit "
        "classifier, for its miniature teachers); 'auto': inception when its weights are present, else digits")
    tafid_steps: int = Field(8, ge=1, description="denoising steps per taFID image")
    eval_batches: int = Field(4, ge=1, description="held-out batches per teacher-aligned error")
    eval_batch_size: int = Field(4, ge=1)
    student: Literal["spec", "search"] = Field(
        "spec", description="'spec': align the variant's own stage_choices; 'search': the Pareto member with the "
        "lowest error among those no costlier than the variant's choices")
    reference: Literal["full", "surgery"] = Field(
        "full", description="teacher of fidelity and alignment: the full teacher UNet (SD1.5) or nanosd-l")
    vae: TrainConfig = Field(default_factory=lambda: TrainConfig(steps=2000, lr=1e-4, batch_size=4, checkpoint_every=200))
    vae_loss: VaeLossConfig = Field(default_factory=VaeLossConfig)
    align: AlignConfig = Field(default_factory=lambda: AlignConfig(steps=2000, lr=1e-5, batch_size=4, checkpoint_every=200))
    use_student_vae: bool = Field(True, description="align on the student VAE's latents z_s when the vae stage ran")


def parse_config(config: dict[str, Any]) -> NanoSDTrainConfig:
    data = dict(config or {})
    if "dataset" not in data and "data_cfg" in data:
        data["dataset"] = data.pop("data_cfg")
    return validate(NanoSDTrainConfig, data, "NanoSD training config")
