"""The state the NanoSD recipe's stages share (``Run``): teacher models, data, search space,
assembled students and the teacher-aligned noise-prediction error."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from zoo import ModelSpec, ZooError

from .train_config import NanoSDTrainConfig


def check_data(spec: ModelSpec, cfg: NanoSDTrainConfig) -> None:
    """Refuse, before loading anything, to train a full-size variant on random latents."""
    source = cfg.data_cfg.latents
    random = source == "random" or (source == "auto" and cfg.data is None)
    if random and not spec.id.endswith("-tiny") and not cfg.data_cfg.allow_random:
        raise ZooError(
            f"training {spec.id} on random latents teaches it nothing: pass --data DIR (images with same-named .txt "
            "captions, or a prompts.txt for teacher-generated latents), or set dataset.allow_random=true for a dry run")


class Run:
    """Everything the stages share: teacher models, data, devices, folders."""

    def __init__(self, spec: ModelSpec, cfg: NanoSDTrainConfig, teacher_pipe: Any = None, progress: bool = True) -> None:
        import torch

        from zoo.distill import process_state

        from .choices import STAGE_NAMES
        from .train_data import prepare_data
        from .unet import NanoSDUNet

        self.spec, self.cfg, self.progress = spec, cfg, progress
        self.out = Path(cfg.out_dir)
        self.state = process_state(cpu=cfg.device == "cpu" or None)
        self.device = torch.device(cfg.device) if cfg.device else self.state.device
        self.pipe = teacher_pipe if teacher_pipe is not None else _load_teacher(spec, cfg)
        self.pipe.to(self.device)
        for m in (self.pipe.unet, self.pipe.vae, self.pipe.text_encoder):
            m.requires_grad_(False).eval()
        # nanosd-l: the teacher after surgery, every block original (the FwGD teacher)
        self.teacher_l = NanoSDUNet.from_teacher(self.pipe.unet).to(self.device).eval().requires_grad_(False)
        self.reference = self.pipe.unet if cfg.reference == "full" else self.teacher_l
        self.stage_paths = [f"down_blocks.{i}" for i in range(3)] + [f"up_blocks.{i}" for i in range(3)]
        self.stage_names = list(STAGE_NAMES)
        sets = cfg.option_sets
        self.space = {n: list(sets.encoder if i < 3 else sets.decoder) for i, n in enumerate(STAGE_NAMES)}
        res = cfg.resolution or spec.resolution
        with self.state.main_process_first():  # rank 0 prepares, the others read its file
            self.data = prepare_data(self.pipe, self.out / "data", data=cfg.data, n_samples=cfg.data_cfg.n_samples,
                                     resolution=res, latents=cfg.data_cfg.latents,
                                     teacher_steps=cfg.data_cfg.teacher_steps, seed=cfg.seed, device=self.device,
                                     progress=progress)
        n = self.data["latents"].shape[0]
        if n <= cfg.data_cfg.n_eval:
            raise ZooError(f"{n} samples cannot hold {cfg.data_cfg.n_eval} held-out ones; add data or lower n_eval")
        self.n_train = n - cfg.data_cfg.n_eval  # the last n_eval samples are never trained on
        self.sf = self.pipe.vae.config.scaling_factor

    # -- batches -----------------------------------------------------------------------------
    def batch(self, gen: Any, size: int, held_out: bool = False) -> dict[str, Any]:
        """Random samples (train split, or the held-out split) with the empty prompt at uncond_prob."""
        import torch

        lo, hi = (self.n_train, self.data["latents"].shape[0]) if held_out else (0, self.n_train)
        idx = torch.randint(lo, hi, (size,), generator=gen)
        ehs = self.data["ehs"][idx].clone()
        drop = torch.rand(size, generator=gen) < self.cfg.data_cfg.uncond_prob
        ehs[drop] = self.data["uncond"][0]
        out = {"z_t": self.data["latents"][idx].to(self.device), "cond": ehs.to(self.device), "idx": idx}
        if "images" in self.data:
            out["images"] = self.data["images"][idx].to(self.device)
        return out

    def images_for(self, batch: dict[str, Any]) -> Any:
        """Images of a batch: the data's, or the teacher VAE's decoding of its latents."""
        import torch

        if "images" in batch:
            return batch["images"]
        with torch.no_grad():
            return self.pipe.vae.decode(batch["z_t"] / self.sf).sample.clamp(-1, 1)

    # -- students ------------------------------------------------------------------------------
    def candidate(self, stage_index: int, choice: str) -> Any:
        from zoo.distill import Candidate

        from .unet import build_stage

        teacher_stage = self.teacher_l.stages[stage_index]

        def build() -> Any:
            blk = build_stage(self.teacher_l.config, stage_index, choice)
            # start from the teacher's weights, removed sub-modules dropped (same names)
            src = teacher_stage.state_dict()
            blk.load_state_dict({k: src[k] for k in blk.state_dict()}, strict=True)
            return blk

        # blocks per option: a cheap proxy of the training cost, to balance ranks
        return Candidate(self.stage_paths[stage_index], choice, build, weight=float(len(choice)))

    def candidates(self) -> list[Any]:
        from .choices import ORIGINAL

        return [self.candidate(i, c) for i, n in enumerate(self.stage_names) for c in self.space[n] if c != ORIGINAL[i]]

    def student(self, arch: list[str], blocks: Literal["distilled", "teacher", "fresh"] = "distilled") -> Any:
        """The assembled UNet: kept stages from nanosd-l, the others distilled / teacher-init / fresh."""
        import torch

        from zoo.distill import load_block, seed_for

        from .choices import ORIGINAL
        from .unet import NanoSDUNet, build_stage

        unet = NanoSDUNet.from_teacher(self.teacher_l, list(arch))
        for i, c in enumerate(arch):
            if c == ORIGINAL[i] or blocks == "teacher":
                continue
            if blocks == "fresh":
                torch.manual_seed(seed_for(self.cfg.seed, "fresh", i, c))
                unet.set_stage(i, build_stage(unet.config, i, c))
            else:
                unet.set_stage(i, load_block(self.candidate(i, c), self.out / "blocks"))
        return unet.to(self.device).eval()

    def noise_error(self, unet: Any, student_vae: Any = None) -> float:
        """Teacher-aligned noise-prediction MSE on held-out latents (student VAE latents for the
        student when given)."""
        from zoo.distill import noise_prediction_error

        def batch_fn(b: int, gen: Any) -> dict[str, Any]:
            batch = self.batch(gen, self.cfg.eval_batch_size, held_out=True)
            if student_vae is not None:
                batch["z_s"] = student_vae.encode(self.images_for(batch)).latent_dist.mean * self.sf
            return batch

        return noise_prediction_error(unet, self.reference, batch_fn, self.cfg.eval_batches, seed=self.cfg.seed + 777,
                                      device=self.device)


def _load_teacher(spec: ModelSpec, cfg: NanoSDTrainConfig) -> Any:
    import zoo

    tid = cfg.teacher or spec.config.get("teacher")
    if not tid:
        raise ZooError(f"{spec.id} names no teacher; pass --teacher ID")
    if cfg.teacher_pretrained:
        return zoo.load(tid)
    import torch

    torch.manual_seed(cfg.seed)
    return zoo.build(tid)
