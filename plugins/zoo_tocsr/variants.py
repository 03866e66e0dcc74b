"""Block choices of the TOC-SR variants, per group of slots (plain data, no torch).

A group is a level (1 = the 64x64-latent level, 4 = 8x8) of the encoder (E), decoder (D) or the
mid block (M), and a kind (R = ResNets, A = transformers): ``{"E1.A": "A", "D3.R": "R8", ...}``.
``expand`` turns it into TOCSRUNet's per-slot ``surrogates`` for SD1.5's layout (2 layers per
encoder level, 3 per decoder level, no transformers at level 4, one in the mid block).
"""
from __future__ import annotations

LEVELS = 4

# tocsr-x4 [choice]: found by enumerating the group assignments of the surrogate library against the
# 6.6x / 2.8x targets (benchmarks/tocsr_costs.py --table prints the per-slot costs); among the
# assignments within 1% of both it keeps the most of the teacher (fewest/least-cut surrogates) and is
# nearest the targets. Full-width blocks stay at the 64x64 level (where the MACs are); the 1280-channel
# 16x16 / 8x8 levels, which hold most parameters for few MACs, get bottlenecks and narrow transformers.
TOCSR_X4 = {
    "E1.R": "R", "E1.A": "A", "D1.R": "R2", "D1.A": "A2",
    "E2.R": "R4", "E2.A": "A4", "D2.R": "R2", "D2.A": "A4",
    "E3.R": "R4", "E3.A": "A4", "D3.R": "R8", "D3.A": "A8",
    "E4.R": "R8", "D4.R": "R8", "M.R": "R8", "M.A": "A4",
}


# tocsr-x4-mini [choice]: not set by hand: the miniature's own epsilon-constrained search picked them
# (`zoo train tocsr-x4-mini`, search/front.json at the sweep's first epsilon, 0.25 of the way from the
# expanded UNet's output error (0) to the all-cheapest student's): 0.60M params, 5.4x fewer than the
# expanded mini UNet's 3.23M.
TOCSR_X4_MINI = {
    "E1.R": "R", "E1.A": "A", "D1.R": "R", "D1.A": "A2",
    "E2.R": "R8", "E2.A": "A8", "D2.R": "R8", "D2.A": "-",
    "E3.R": "R8", "E3.A": "-", "D3.R": "R8", "D3.A": "-",
    "E4.R": "R4", "D4.R": "R8", "M.R": "R4", "M.A": "A8",
}


def slot_paths(levels: int = LEVELS, layers: int = 2) -> dict[str, list[str]]:
    """Group -> slot paths of a UNet2DConditionModel with SD1.5's block types."""
    out: dict[str, list[str]] = {}
    for lvl in range(levels):
        g = f"E{lvl + 1}"
        out[f"{g}.R"] = [f"down_blocks.{lvl}.resnets.{j}" for j in range(layers)]
        if lvl < levels - 1:
            out[f"{g}.A"] = [f"down_blocks.{lvl}.attentions.{j}" for j in range(layers)]
        g, up = f"D{lvl + 1}", levels - 1 - lvl
        out[f"{g}.R"] = [f"up_blocks.{up}.resnets.{j}" for j in range(layers + 1)]
        if lvl < levels - 1:
            out[f"{g}.A"] = [f"up_blocks.{up}.attentions.{j}" for j in range(layers + 1)]
    out["M.R"] = [f"mid_block.resnets.{j}" for j in range(2)]
    out["M.A"] = ["mid_block.attentions.0"]
    return out


def expand(groups: dict[str, str]) -> dict[str, str]:
    """Per-slot surrogates of a group assignment; slots whose option is the teacher's own are left out."""
    paths = slot_paths()
    unknown = sorted(set(groups) - set(paths))
    if unknown:
        from zoo import ZooError

        raise ZooError(f"unknown slot groups {unknown}; groups are {sorted(paths)}")
    return {p: opt for g, opt in groups.items() for p in paths[g] if opt not in ("R", "A")}


def group_of(path: str) -> str:
    return next(g for g, ps in slot_paths().items() if path in ps)
