"""The shared block-distillation and architecture-search engine (NanoSD, TOC-SR, EdgeDiT).

1. stages   - a teacher as ordered named stages; candidates that replace one stage each
2. capture  - teacher stage inputs/outputs via forward hooks, to safetensors shards on disk
3. fwgd     - feature-wise distillation of every candidate, sharded across processes
4. search   - Bayesian optimisation over one choice per stage (Pareto or epsilon-constrained)
5. align    - end-to-end alignment of the assembled student to the teacher's noise prediction
recipe: the stage runner (done-markers, resume, rank 0 vs sharded) and capture + distil in one call.
loop/checkpoint/config: the resumable training loop, safetensors checkpoints, pydantic configs.

Names are imported lazily so that ``import zoo.distill`` stays cheap (no torch).
"""
from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config", "BlockDistillConfig": "config", "CaptureConfig": "config", "SearchConfig": "config",
    "AlignConfig": "config", "load_config_file": "config", "validate": "config",
    "Candidate": "stages", "SearchSpace": "stages", "get_stage": "stages", "set_stage": "stages",
    "assemble": "stages", "needed_candidates": "stages", "candidate_name": "stages",
    "capture_stage_io": "capture", "StageDataset": "capture",
    "distill_blocks": "fwgd", "load_block": "fwgd", "process_state": "fwgd", "stage_mse": "fwgd", "shard": "fwgd",
    "search_architectures": "search", "pareto_front": "search", "SearchResult": "search",
    "align_student": "align", "noise_prediction_error": "align", "unet_call": "align", "ddpm": "align",
    "train": "loop", "TrainResult": "loop", "TrainingInterrupted": "loop", "seed_for": "loop",
    "save_weights": "checkpoint", "load_weights": "checkpoint",
    "run_stages": "recipe", "capture_and_distill": "recipe",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
