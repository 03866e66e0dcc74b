"""EdgeDiT's search space as plain data (no torch): per-block options, architectures, and
the per-block spec list the model class is built from.

An *architecture* is one option per teacher block (28 for DiT-XL/2), the paper's 28-D
relaxation x in [0,1]^28 rounded to the nearest option per coordinate [choice]:

- ``full``         the teacher block;
- ``half-mlp``     MLP ratio 4 -> 2 [paper];
- ``narrow-attn``  attention width 1152 -> 512 (8 heads x 64) [paper], residual and adaLN at 1152;
- ``narrow``       both reductions;
- ``merge``        (first block of a pair only) the pair (2k, 2k+1) becomes one block [paper]; the
                   second block's option is then ignored.

The space holds 2^14 x 4^28 distinct models, as in the paper. A *block spec* (one kept block of
the model) is ``{"source": i, "span": 1|2, "mlp_ratio": r, "heads": h, "head_dim": d}``: the teacher
block its weights come from, how many teacher blocks it replaces, and its widths.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from zoo import ZooError

WIDTH_OPTIONS = ("full", "half-mlp", "narrow-attn", "narrow")
MERGE = "merge"
ORIGINAL = "full"


def block_options(index: int, num_layers: int) -> tuple[str, ...]:
    """Options of teacher block ``index``: the width options, plus ``merge`` on the first block of
    each pair (blocks 0-1, 2-3, ...; an odd last block has no partner)."""
    if not 0 <= index < num_layers:
        raise ZooError(f"block index {index} out of range: the teacher has {num_layers} blocks")
    if index % 2 == 0 and index + 1 < num_layers:
        return (*WIDTH_OPTIONS, MERGE)
    return WIDTH_OPTIONS


def stage_names(num_layers: int) -> list[str]:
    """One search coordinate per teacher block: ``b00``, ``b01``, ..."""
    return [f"b{i:02d}" for i in range(num_layers)]


def search_space(num_layers: int) -> dict[str, list[str]]:
    return {n: list(block_options(i, num_layers)) for i, n in enumerate(stage_names(num_layers))}


def original_arch(num_layers: int) -> list[str]:
    return [ORIGINAL] * num_layers


def validate_arch(arch: Sequence[str] | Mapping[str, str], num_layers: int) -> list[str]:
    if isinstance(arch, Mapping):
        missing = [n for n in stage_names(num_layers) if n not in arch]
        if missing:
            raise ZooError(f"architecture misses blocks {missing}")
        arch = [arch[n] for n in stage_names(num_layers)]
    arch = list(arch)
    if len(arch) != num_layers:
        raise ZooError(f"an architecture has one option per teacher block ({num_layers}), got {len(arch)}")
    for i, c in enumerate(arch):
        if c not in block_options(i, num_layers):
            raise ZooError(f"block {i} has no option {c!r}; choose one of {list(block_options(i, num_layers))}")
    return arch


def canonical(arch: Sequence[str], num_layers: int) -> tuple[str, ...]:
    """The architecture with the ignored option (second block of a merged pair) set to ``full``:
    two architectures are the same model exactly when their canonical forms are equal."""
    arch = validate_arch(arch, num_layers)
    return tuple(ORIGINAL if i > 0 and arch[i - 1] == MERGE and i % 2 == 1 else c for i, c in enumerate(arch))


def narrow_widths(heads: int, head_dim: int, reduced_mlp_ratio: float = 2.0) -> dict[str, Any]:
    """The paper's 1152 -> 512 attention (16x72 -> 8x64) as a rule for any DiT: half the heads,
    8/9 of the head size [choice]; MLP ratio 2 [paper]."""
    return {"narrow_heads": (heads + 1) // 2, "narrow_head_dim": max(1, round(head_dim * 8 / 9)),
            "reduced_mlp_ratio": reduced_mlp_ratio}


def widths(option: str, heads: int, head_dim: int, mlp_ratio: float, narrow_heads: int, narrow_head_dim: int,
           reduced_mlp_ratio: float) -> dict[str, Any]:
    narrow_attn = option in ("narrow-attn", "narrow")
    half_mlp = option in ("half-mlp", "narrow")
    return {
        "mlp_ratio": reduced_mlp_ratio if half_mlp else mlp_ratio,
        "heads": narrow_heads if narrow_attn else heads,
        "head_dim": narrow_head_dim if narrow_attn else head_dim,
    }


def arch_to_blocks(arch: Sequence[str], num_layers: int, *, heads: int, head_dim: int, mlp_ratio: float = 4.0,
                   narrow_heads: int = 8, narrow_head_dim: int = 64, reduced_mlp_ratio: float = 2.0) -> list[dict]:
    """The model's per-block spec list for an architecture (merged blocks keep full width: the
    paper trains 14 merge proxies, none of them narrowed)."""
    arch = validate_arch(arch, num_layers)
    out, i = [], 0
    while i < num_layers:
        if arch[i] == MERGE:
            out.append({"source": i, "span": 2, **widths(ORIGINAL, heads, head_dim, mlp_ratio, narrow_heads,
                                                         narrow_head_dim, reduced_mlp_ratio)})
            i += 2
        else:
            out.append({"source": i, "span": 1, **widths(arch[i], heads, head_dim, mlp_ratio, narrow_heads,
                                                         narrow_head_dim, reduced_mlp_ratio)})
            i += 1
    return out


def blocks_to_arch(blocks: Sequence[Mapping[str, Any]], num_layers: int, *, heads: int, head_dim: int,
                   mlp_ratio: float = 4.0) -> list[str]:
    """Inverse of ``arch_to_blocks`` (in canonical form)."""
    arch: list[str] = []
    for b in blocks:
        if b["source"] != len(arch):
            raise ZooError(f"block specs must cover the teacher's blocks in order; block {b} starts at "
                           f"{b['source']}, expected {len(arch)}")
        if b["span"] == 2:
            arch += [MERGE, ORIGINAL]
            continue
        narrow = (b["heads"], b["head_dim"]) != (heads, head_dim)
        half = b["mlp_ratio"] != mlp_ratio
        arch.append({(False, False): "full", (False, True): "half-mlp", (True, False): "narrow-attn",
                     (True, True): "narrow"}[(narrow, half)])
    if len(arch) != num_layers:
        raise ZooError(f"block specs cover {len(arch)} teacher blocks, the teacher has {num_layers}")
    return validate_arch(arch, num_layers)


def proxies(num_layers: int) -> list[tuple[str, str]]:
    """(stage, option) of every proxy block to distil: one merge proxy per pair and the two
    reduced-width variants of every block, 14 + 56 = 70 for 28 blocks as in the paper. A block
    with both reductions (``narrow``) is composed from its two proxies: attention and the
    attention third of the adaLN modulation from ``narrow-attn``, MLP and the MLP third from
    ``half-mlp`` [choice]."""
    out = []
    for i, n in enumerate(stage_names(num_layers)):
        out += [(n, c) for c in block_options(i, num_layers) if c not in (ORIGINAL, "narrow")]
    return out
