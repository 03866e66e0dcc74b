"""EdgeDiT's variant table: the per-block choices of each zoo model (plain data, no torch).

The paper reports EdgeDiT-1 and EdgeDiT-6's size and FLOPs but not their per-block choices,
so the zoo defines them [choice]. Per change of one DiT-XL/2 block at 256^2 (measured on the
meta device): merge a pair -23.905M / -4.236 GMACs, MLP 4->2 -5.311M / -1.359 G, attention
1152->512 -2.951M / -0.839 G. Merged blocks stay at full width (the paper trains 14 merge
proxies, none narrowed), so:

- EdgeDiT-1 (471M, 71.98 GMACs): 3 merges and MLP ratio 2 on all 22 other blocks leave 486M;
  5 more narrow attentions give 471.5M / 71.82 G, the only count of narrow attentions that puts
  both within 1% of the paper (4: +0.7% / +0.9%; 6: -0.5% / -1.4%).
- EdgeDiT-6 (530M, 84.985 GMACs): 2 merges, 18 MLP halvings, 1 narrow attention: 528.5M /
  84.85 G (2 merges + 18 halvings alone: +0.3% params but +0.8% MACs).

Where the reductions go [choice]: the first three and last three blocks stay full (they read
the patch embedding and feed the output head); merges go to the middle-late pairs and the
narrow attentions to middle blocks. The search (``zoo train ... --stage search``) replaces
this guess by measured fidelity once proxies are trained.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .space import MERGE, ORIGINAL


def _arch(n: int, merges: tuple[int, ...], half_mlp: tuple[int, ...], narrow_attn: tuple[int, ...]) -> list[str]:
    arch = [ORIGINAL] * n
    for i in merges:
        arch[i], arch[i + 1] = MERGE, ORIGINAL
    for i in half_mlp:
        arch[i] = "narrow" if i in narrow_attn else "half-mlp"
    for i in narrow_attn:
        if i not in half_mlp:
            arch[i] = "narrow-attn"
    return arch


_MERGED_1 = (14, 18, 22)
_MERGED_6 = (16, 22)


def _unmerged(n: int, merges: tuple[int, ...]) -> list[int]:
    gone = {j for i in merges for j in (i, i + 1)}
    return [i for i in range(n) if i not in gone]


@dataclass(frozen=True)
class Variant:
    id: str
    arch: list[str]
    why: str
    # the paper's table; its GFLOPs count 2 FLOPs per MAC, so transformer_gmacs = GFLOPs / 2
    reported: dict[str, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)  # meta device, checked by the tests


VARIANTS: dict[str, Variant] = {
    v.id: v
    for v in [
        Variant(
            id="edgedit-teacher", arch=[ORIGINAL] * 28,
            why="Every block original: DiT-XL/2 with one shared timestep/class embedder, as in the original DiT.",
            reported={"transformer_params_m": 675.0, "transformer_gmacs": 118.67,
                      "fid_50k": 16.23, "iphone_ane_latency_ms": 118.56, "s25_hexagon_latency_ms": 129.00},
            measured={"transformer_params_m": 674.83, "transformer_gmacs": 118.62},
        ),
        Variant(
            id="edgedit-1",
            arch=_arch(28, _MERGED_1, tuple(_unmerged(28, _MERGED_1)), (8, 10, 12, 16, 20)),
            why="Not given by the paper. 3 merged pairs (14-15, 18-19, 22-23), MLP ratio 2 on the 22 other blocks, "
                "narrow attention (8x64) on blocks 8, 10, 12, 16, 20: 471.5M / 71.82 GMACs, within 0.3% of the paper's "
                "471M / 143.96 GFLOPs.",
            reported={"transformer_params_m": 471.0, "transformer_gmacs": 71.98,
                      "fid_50k": 12.3, "iphone_ane_latency_ms": 70.86, "s25_hexagon_latency_ms": 86.13},
            measured={"transformer_params_m": 471.53, "transformer_gmacs": 71.82},
        ),
        Variant(
            id="edgedit-6",
            arch=_arch(28, _MERGED_6, tuple(i for i in _unmerged(28, _MERGED_6) if 3 <= i <= 24), (12,)),
            why="Not given by the paper. 2 merged pairs (16-17, 22-23), MLP ratio 2 on blocks 3-15, 18-21 and 24 "
                "(18 blocks), narrow attention (8x64) on block 12: 528.5M / 84.85 GMACs, within 0.4% of the paper's "
                "530M / 169.97 GFLOPs.",
            reported={"transformer_params_m": 530.0, "transformer_gmacs": 84.985,
                      "fid_50k": 12.4, "iphone_ane_latency_ms": 72.53, "s25_hexagon_latency_ms": 89.22},
            measured={"transformer_params_m": 528.48, "transformer_gmacs": 84.85},
        ),
        Variant(
            id="edgedit-tiny", arch=[MERGE, ORIGINAL, "narrow", "half-mlp", "narrow-attn", ORIGINAL],
            why="Toy widths for tests, random weights by design; every kind of block (merged pair, both reductions, "
                "each reduction alone, original).",
        ),
    ]
}
