"""Per-slot costs of the surrogate library at full size (meta device, attention counted).

Costs are additive: each slot sees the same input shapes whatever the other slots hold, so a
UNet's params / MACs are the base (embeddings, conv_in/out, resamplers) plus one entry per slot.
Four meta builds (all slots at each width: R+A, R2+A2, R4+A4, R8+A8) give the whole table.
"""
from __future__ import annotations

from typing import Any, Optional


def _build(config: dict[str, Any], surrogates: Optional[dict[str, str]] = None) -> Any:
    import torch

    from .unet import TOCSRUNet

    config = dict(config)  # a spec's UNet config may carry its own surrogates
    own = config.pop("surrogates", None)
    with torch.device("meta"):
        return TOCSRUNet(surrogates=own if surrogates is None else surrogates, **config)


def unet_inputs(config: dict[str, Any], latent: Optional[int] = None, text_len: int = 77) -> dict[str, Any]:
    import torch

    s = int(latent or config["sample_size"])
    return {"sample": torch.zeros(1, config["in_channels"], s, s, device="meta"),
            "timestep": torch.zeros(1, device="meta"),
            "encoder_hidden_states": torch.zeros(1, text_len, config["cross_attention_dim"], device="meta")}


def unet_cost(config: dict[str, Any], surrogates: Optional[dict[str, str]] = None, latent: Optional[int] = None) -> dict[str, float]:
    """Params and MACs (attention included) of the TOCSRUNet built on meta."""
    from zoo.evaluate.macs import module_macs

    unet = _build(config, surrogates)
    m = module_macs(unet, unet_inputs(config, latent), mode="meta")
    return {"params": float(sum(p.numel() for p in unet.parameters())), "macs": float(m.total),
            "attention_macs": float(m.attention)}


def slot_table(config: dict[str, Any], latent: Optional[int] = None) -> tuple[dict[str, float], dict[str, dict[str, tuple[float, float]]]]:
    """(base {params, macs}, {slot: {option: (params, macs)}}) for every slot and option."""
    config = {k: v for k, v in config.items() if k != "surrogates"}
    from zoo.evaluate.macs import module_macs

    from .library import slots

    table: dict[str, dict[str, tuple[float, float]]] = {}
    base = None
    for r, a in (("R", "A"), ("R2", "A2"), ("R4", "A4"), ("R8", "A8")):
        probe = _build(config)
        kinds = slots(probe)
        sur = {p: (r if k == "resnet" else a) for p, k in kinds.items()}
        unet = _build(config, sur)
        m = module_macs(unet, unet_inputs(config, latent), mode="meta")
        root = type(unet).__name__
        for path, kind in kinds.items():
            mod = unet.get_submodule(path)
            opt = r if kind == "resnet" else a
            table.setdefault(path, {})[opt] = (float(sum(p.numel() for p in mod.parameters())),
                                               float(m.by_module.get(f"{root}.{path}", 0)))
            if kind == "attention":
                table[path]["-"] = (0.0, 0.0)
        if base is None:
            total_p = float(sum(p.numel() for p in unet.parameters()))
            base = {"params": total_p - sum(v[r if kinds[k] == "resnet" else a][0] for k, v in table.items()),
                    "macs": float(m.total) - sum(v[r if kinds[k] == "resnet" else a][1] for k, v in table.items())}
    return base, table


def assemble(base: dict[str, float], table: dict[str, dict[str, tuple[float, float]]], surrogates: dict[str, str]) -> dict[str, float]:
    """Params / MACs of the UNet with ``surrogates`` (others 'R'/'A'), from the slot table."""
    p, m = base["params"], base["macs"]
    for path, opts in table.items():
        opt = surrogates.get(path, "R" if "R" in opts else "A")
        p += opts[opt][0]
        m += opts[opt][1]
    return {"params": p, "macs": m}
