"""Params and MACs of every (stage, option) of the NanoSD search space, measured on the meta
device, and the cost of any of the 32,768 combinations as a sum of its stages.

A combination's cost is additive because every option keeps its stage's input and output
shapes: cost(UNet) = cost(stem: conv_in, time embedding, conv_out) + sum of its six stages.
MACs come from ``zoo.evaluate.macs`` (attention included) for one UNet call at batch 1, split
per stage by module; 'attn_macs' are a stage's transformer blocks.

    python -m zoo_nanosd.stage_costs            # table of the registered variants
"""
from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence

from .choices import DECODER_OPTIONS, ENCODER_OPTIONS, STAGE_NAMES, options_for

StageCosts = dict[str, Any]


def _counts_by_stage(config: dict[str, Any], choices: list[str], latent: int, text_len: int) -> dict[str, dict[str, int]]:
    import torch

    from zoo.evaluate.macs import count_macs

    from .unet import NanoSDUNet

    with torch.device("meta"):
        unet = NanoSDUNet(**{**config, "stage_choices": choices})
        inputs = {"sample": torch.empty(1, unet.config.in_channels, latent, latent), "timestep": torch.tensor([1]),
                  "encoder_hidden_states": torch.empty(1, text_len, unet.config.cross_attention_dim)}
    mc = count_macs(unet, inputs, module=unet, mode="meta")
    out = {}
    for i, stage in enumerate(unet.stages):
        prefix = f"NanoSDUNet.{'down' if i < len(unet.down_blocks) else 'up'}_blocks.{i % len(unet.down_blocks)}"
        # transformer blocks of the stage (projections, attention and feed-forward together)
        attn = sum(m for k, m in mc.by_module.items()
                   if k.startswith(prefix + ".attentions.") and k.count(".") == prefix.count(".") + 2)
        out[STAGE_NAMES[i]] = {"params": sum(p.numel() for p in stage.parameters()),
                               "macs": mc.by_module.get(prefix, 0), "attn_macs": attn}
    total_params = sum(p.numel() for p in unet.parameters())
    out["stem"] = {
        "params": total_params - sum(v["params"] for v in out.values()),
        "macs": mc.total - sum(v["macs"] for v in out.values()),
        "attn_macs": 0,
    }
    return out


def stage_option_costs(config: Optional[dict[str, Any]] = None, latent: int = 64, text_len: int = 77) -> dict[str, Any]:
    """``{"stem": {...}, ("E1", "RARA"): {"params", "macs", "attn_macs"}, ...}`` for all 30 blocks.

    ``config``: NanoSDUNet kwargs (default: full SD1.5 widths). Eight meta-device forwards.
    """
    config = dict(config or {})
    table: dict[Any, Any] = {}
    for k in range(len(DECODER_OPTIONS)):
        choices = [ENCODER_OPTIONS[min(k, len(ENCODER_OPTIONS) - 1)]] * 3 + [DECODER_OPTIONS[k]] * 3
        counts = _counts_by_stage(config, choices, latent, text_len)
        table["stem"] = counts.pop("stem")
        for name, c in zip(STAGE_NAMES, choices):
            table[(name, c)] = counts[name]
    return table


def combination_cost(table: dict[Any, Any], choices: Sequence[str]) -> dict[str, int]:
    """Params, MACs and attention MACs of one combination (sum of stem and its six stages)."""
    parts = [table["stem"], *(table[(n, c)] for n, c in zip(STAGE_NAMES, choices))]
    return {k: sum(p[k] for p in parts) for k in ("params", "macs", "attn_macs")}


def all_combinations(table: dict[Any, Any]) -> list[tuple[list[str], dict[str, int]]]:
    """All 32,768 combinations with their costs."""
    opts = [options_for(i) for i in range(6)]
    return [(list(c), combination_cost(table, c)) for c in itertools.product(*opts)]


def _main() -> None:
    from .variants import VARIANTS

    table = stage_option_costs()
    print(f"{'variant':<10} {'choices':<44} {'params M':>9} {'paper M':>8} {'GMACs':>7} {'attn GMACs':>10}")
    for name, v in VARIANTS.items():
        if v.teacher != "sd15":
            continue
        c = combination_cost(table, v.stage_choices)
        paper = f"{v.reported['unet_params_m']:.1f}" if "unet_params_m" in v.reported else "-"
        print(f"{name:<10} {' '.join(v.stage_choices):<44} {c['params'] / 1e6:9.2f} {paper:>8} "
              f"{c['macs'] / 1e9:7.1f} {c['attn_macs'] / 1e9:10.1f}")


if __name__ == "__main__":
    _main()
