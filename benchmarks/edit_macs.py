"""MACs (attention counted) and parameters of one transformer forward, original vs EDiT / MM-EDiT, at
full size on the meta device (no memory, seconds): PixArt-Sigma (28 blocks) at 512^2 / 1024^2 / 2048^2 /
4096^2 and SD3.5-Medium at 512^2 / 1024^2 / 2048^2. "softmax attention" is the QK^T and AV products of
every SDPA call; EDiT's linear attention (K^T V and Q (K^T V)) is in the total.

    python benchmarks/edit_macs.py
"""
from __future__ import annotations

import copy


def transformer(model_id: str):
    import torch

    import zoo
    from zoo.building import build_component

    with torch.device("meta"):
        return build_component(copy.deepcopy(zoo.get_spec(model_id).config["components"]["transformer"]))


def pixart_inputs(size: int) -> dict:
    import torch

    lat = size // 8
    return {"hidden_states": torch.empty(1, 4, lat, lat), "encoder_hidden_states": torch.empty(1, 300, 4096),
            "timestep": torch.tensor([999])}


def sd3_inputs(size: int) -> dict:
    import torch

    lat = size // 8
    return {"hidden_states": torch.empty(1, 16, lat, lat), "encoder_hidden_states": torch.empty(1, 333, 4096),
            "pooled_projections": torch.empty(1, 2048), "timestep": torch.tensor([999])}


def main() -> dict:
    from zoo.evaluate.macs import module_macs
    from zoo_edit.models import convert

    out = {}
    for base, sizes, make in (("pixart-sigma", [512, 1024, 2048, 4096], pixart_inputs),
                              ("sd35-medium", [512, 1024, 2048], sd3_inputs)):
        orig = transformer(base)
        conv = convert(transformer(base))
        p0 = sum(p.numel() for p in orig.parameters()) / 1e6
        p1 = sum(p.numel() for p in conv.parameters()) / 1e6
        print(f"{base}: params original {p0:.2f}M, converted {p1:.2f}M (+{p1 - p0:.2f}M new attention modules)")
        for size in sizes:
            a, b = module_macs(orig, make(size), mode="meta"), module_macs(conv, make(size), mode="meta")
            out[(base, size)] = (a.total, b.total)
            print(f"  {size}^2: original {a.total / 1e12:.3f} TMACs (softmax attention {a.attention / 1e12:.3f}), "
                  f"converted {b.total / 1e12:.3f} TMACs (softmax attention {b.attention / 1e12:.3f}), "
                  f"ratio {a.total / b.total:.2f}x", flush=True)
    return out


if __name__ == "__main__":
    main()
