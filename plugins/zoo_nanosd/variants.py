"""NanoSD's variant table: the per-stage block choices of each zoo model (plain data).

The paper gives each Pareto model's UNet size and NPU latency but not its block choices, so
the zoo defines them [choice] by searching all 32,768 combinations for the UNet param count
(``python -m zoo_nanosd.stage_costs`` prints the table; params and MACs at a 64x64 latent
are additive over stages). Rules, applied in order:

1. params within 2% of the paper's figure;
2. at least one transformer block: the only cross-attention to the prompt lives there, and
   a UNet without one ignores the text;
3. the paper's NPU latencies guide where attention goes, by the zoo's reading (not measured:
   no NPU here). nanosd-s (12 ms) is the fastest: the fewest MACs and no attention at the
   64x64 latent. nanosd-xs and nanosd-m both run at 27 ms although 130M vs 315M; the zoo
   guesses that both keep exactly one transformer at 64x64 (4096 tokens, the part an NPU
   pays most for), in line with the paper's point that params do not predict latency;
4. then the most transformer blocks at 32x32 and 16x16 (quality), then the closest count;
   ties prefer attention in the decoder and the earlier transformer slot (RAR over RRA).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .choices import ORIGINAL


@dataclass(frozen=True)
class Variant:
    id: str
    paper_name: str
    stage_choices: list[str]
    target_params_m: float  # the paper's UNet size (nanosd-l: the surgery UNet measured here)
    why: str
    teacher: str = "sd15"  # zoo id whose UNet/VAE/text-encoder configs the variant derives from
    reported: dict[str, float] = field(default_factory=dict)  # figures the paper states
    aliases: tuple[str, ...] = ()
    measured_params_m: Optional[float] = None  # built on the meta device (checked by the tests)
    measured_gmacs: Optional[float] = None  # one UNet call, 64x64 latent, attention included


VARIANTS: dict[str, Variant] = {
    v.id: v
    for v in [
        Variant(
            id="nanosd-xs", paper_name="paper Model 7, fewest params",
            stage_choices=["R", "R", "R", "R", "R", "RA"], target_params_m=130.0,
            measured_params_m=131.43, measured_gmacs=115.7,
            reported={"unet_params_m": 130.0, "npu_latency_ms": 27.0},
            why="Only 5 of 32,768 combinations are within 2% of 130M, all single-ResNet stages plus "
                "one 320-channel block; of those with a transformer (rule 2), the one with it in D1 "
                "(rule 4: decoder). Its one 64x64 transformer is the zoo's unmeasured guess for why the paper's "
                "27 ms equals nanosd-m's.",
        ),
        Variant(
            id="nanosd-s", paper_name="paper Model 5, fastest",
            stage_choices=["R", "RR", "R", "RA", "R", "R"], target_params_m=170.0,
            measured_params_m=171.85, measured_gmacs=112.7,
            reported={"unet_params_m": 170.0, "npu_latency_ms": 12.0},
            why="Fewest MACs among the 231 combinations within 2% of 170M that keep a transformer: "
                "its only transformer is at 16x16 (256 tokens) in D3, none at 32x32 or 64x64 (the zoo's reading of "
                "the paper's 12 ms; not measured on an NPU).",
        ),
        Variant(
            id="nanosd-m", paper_name="paper Model 2, NanoSD-Prime",
            stage_choices=["RR", "RARA", "RARA", "R", "RARARA", "RAR"], target_params_m=315.0,
            measured_params_m=315.23, measured_gmacs=239.8, aliases=("nanosd-prime",),
            reported={"unet_params_m": 315.0, "npu_latency_ms": 27.0},
            why="Within 2% of 315M with one 64x64 transformer (D1, as in nanosd-xs: the zoo's unmeasured guess for "
                "their equal 27 ms), the "
                "most transformers at 32x32/16x16 (E2, E3, D2 original) and the closest count; the "
                "ResNets dropped are D3's, the largest stage (258M of 523M).",
        ),
        Variant(
            id="nanosd-l", paper_name="the 3-stage UNet after surgery",
            stage_choices=list(ORIGINAL), target_params_m=523.2,
            measured_params_m=523.22, measured_gmacs=378.0,
            why="Every kept block original: SD1.5 with E4, the mid block and D4 removed. The FwGD "
                "teacher of the other variants.",
        ),
        Variant(
            id="nanosd-tiny", paper_name="-", teacher="sd15-tiny",
            stage_choices=["RA", "RARA", "R", "RRA", "RR", "RAR"], target_params_m=0.0,
            why="Toy widths for tests, with choices that exercise every kind of stage surgery: "
                "dropped encoder slots (skip re-emission), a transformer after ResNet 1 (RRA), "
                "decoders that use fewer skips.",
        ),
    ]
}


def variant(model_id: str) -> Variant:
    from zoo import ZooError

    if model_id not in VARIANTS:
        raise ZooError(f"no NanoSD variant {model_id!r}; known: {sorted(VARIANTS)}")
    return VARIANTS[model_id]
