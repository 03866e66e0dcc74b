"""The rules that pick each variant's block choices (documented in ``variants``), as code, so
the table can be re-derived: ``derive_variants(stage_option_costs())``."""
from __future__ import annotations

from typing import Any

from .choices import STAGE_NAMES, options_for
from .stage_costs import all_combinations

HIGH_RES = (0, 5)  # E1, D1: 64x64 latent, 4096 tokens per transformer
MID_LOW_RES = (1, 2, 3, 4)  # E2, E3, D3, D2: 32x32 and 16x16
DECODERS = (3, 4, 5)


def attn(choices: list[str], stages: tuple[int, ...] = tuple(range(6))) -> int:
    return sum(choices[i].count("A") for i in stages)


def _tie_key(choices: list[str]) -> tuple:
    # attention in the decoder first, then the earlier option of each stage (RAR before RRA), decoders first
    order = [*DECODERS, 0, 1, 2]
    return (-attn(choices, DECODERS), tuple(options_for(i).index(choices[i]) for i in order))


def candidates(combos: list, target_m: float, tol: float = 0.02) -> list:
    """Rules 1 and 2: within ``tol`` of the paper's UNet size, at least one transformer."""
    return [(c, cost) for c, cost in combos if abs(cost["params"] / 1e6 - target_m) <= tol * target_m and attn(c) >= 1]


def fastest(cands: list) -> list[str]:
    """Rule 3 for nanosd-s: fewest MACs (none at 64x64 follows), then ties."""
    return min(cands, key=lambda x: (x[1]["macs"], _tie_key(x[0])))[0]


def one_high_res_transformer(cands: list, target_m: float) -> list[str]:
    """Rules 3-4 for nanosd-xs / nanosd-m: exactly one 64x64 transformer, then the most
    transformers at 32x32/16x16, then the closest param count, then ties."""
    pool = [x for x in cands if attn(x[0], HIGH_RES) == 1]
    return min(pool, key=lambda x: (-attn(x[0], MID_LOW_RES), abs(x[1]["params"] / 1e6 - target_m), _tie_key(x[0])))[0]


def derive_variants(table: dict[Any, Any]) -> dict[str, list[str]]:
    combos = all_combinations(table)
    return {
        "nanosd-xs": one_high_res_transformer(candidates(combos, 130.0), 130.0),
        "nanosd-s": fastest(candidates(combos, 170.0)),
        "nanosd-m": one_high_res_transformer(candidates(combos, 315.0), 315.0),
    }


def describe(choices: list[str]) -> str:
    return " ".join(f"{n}={c}" for n, c in zip(STAGE_NAMES, choices))
