"""EdgeDiT's per-block cost table: params, MACs and measured latency of one block of each width
option (a merged pair is one full block) plus the fixed rest (patch embedding, shared embedder,
output layer), so an architecture's cost is a sum, as in the paper's search (latency from
per-block on-device profiles).

Latency sources: ``cpu`` (measured here, options timed interleaved), ``aihub`` (Qualcomm AI Hub
profile jobs; needs an API token), ``none`` (params and MACs only).

    python -m zoo_edgedit.costs edgedit-teacher    # the table at full size (CPU timing)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from zoo import ZooError

from .space import WIDTH_OPTIONS, arch_to_blocks, narrow_widths

REST = "rest"


def _option_spec(cfg: Mapping[str, Any], option: str, narrow: Mapping[str, Any]) -> dict[str, Any]:
    return arch_to_blocks([option], 1, heads=cfg["num_attention_heads"], head_dim=cfg["attention_head_dim"],
                          mlp_ratio=cfg.get("mlp_ratio", 4.0), **narrow)[0]


def option_modules(cfg: Mapping[str, Any], narrow: Mapping[str, Any]) -> dict[str, Any]:
    """One randomly initialised module per option (a block) and the rest (a model without blocks)."""
    from .model import EdgeDiTBlock, EdgeDiTTransformer2DModel

    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    mods: dict[str, Any] = {}
    for opt in WIDTH_OPTIONS:
        s = _option_spec(cfg, opt, narrow)
        mods[opt] = EdgeDiTBlock(dim, s["heads"], s["head_dim"], s["mlp_ratio"], cfg.get("activation_fn", "gelu-approximate"),
                                 cfg.get("attention_bias", True), cfg.get("norm_eps", 1e-5),
                                 cfg.get("norm_elementwise_affine", False),
                                 cfg["num_embeds_ada_norm"] if cfg.get("per_block_embedders") else None).eval()
    # the rest with one embedder (per-block embedders are counted in each block's row)
    mods[REST] = EdgeDiTTransformer2DModel(**{**dict(cfg), "blocks": [], "per_block_embedders": False}).eval()
    return mods


def option_inputs(cfg: Mapping[str, Any], name: str, batch: int = 1) -> dict[str, Any]:
    import torch

    g = torch.Generator().manual_seed(0)
    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    if name == REST:
        s = cfg["sample_size"]
        return {"hidden_states": torch.randn(batch, cfg["in_channels"], s, s, generator=g),
                "timestep": torch.full((batch,), 500), "class_labels": torch.zeros(batch, dtype=torch.long)}
    tokens = (cfg["sample_size"] // cfg["patch_size"]) ** 2
    x = {"hidden_states": torch.randn(batch, tokens, dim, generator=g)}
    if cfg.get("per_block_embedders"):
        return {**x, "timestep": torch.full((batch,), 500), "class_labels": torch.zeros(batch, dtype=torch.long)}
    return {**x, "emb": torch.randn(batch, dim, generator=g)}


def cost_table(cfg: Mapping[str, Any], narrow: Mapping[str, Any], latency: str = "cpu", repeats: int = 10,
               warmup: int = 2, progress: bool = True, aihub_device: Optional[str] = None,
               client: Any = None) -> dict[str, dict[str, float]]:
    """{option or 'rest': {"params", "macs", "latency_ms"?}} at the teacher config ``cfg``.
    ``client`` replaces the qai_hub client (tests)."""
    import torch

    from zoo.evaluate.macs import profile_module

    if latency not in ("cpu", "aihub", "none"):
        raise ZooError(f"unknown latency source {latency!r}: use cpu, aihub or none")
    if latency == "aihub" and client is None:
        from zoo.export import qaihub

        qaihub.require_token()  # refuses with the sign-up hint before anything is built
    with torch.device("meta"):
        meta = option_modules(cfg, narrow)
    table: dict[str, dict[str, float]] = {}
    for name, mod in meta.items():
        params, macs = profile_module(mod, option_inputs(cfg, name))
        table[name] = {"params": float(params), "macs": float(macs.total)}
    if latency != "none":
        mods = option_modules(cfg, narrow)
        measured = (cpu_latency(mods, cfg, repeats, warmup, progress) if latency == "cpu"
                    else aihub_latency(mods, cfg, aihub_device, client, progress))
        for name, ms in measured.items():
            table[name]["latency_ms"] = ms
    return table


def aihub_latency(mods: Mapping[str, Any], cfg: Mapping[str, Any], device: Optional[str] = None, client: Any = None,
                  progress: bool = True) -> dict[str, float]:
    """On-device latency of each option module from Qualcomm AI Hub profile jobs: each is exported
    to ONNX as the generic exporter prepares it (NPU-clean graph), compiled for the device and
    profiled there (the paper profiles blocks on phone NPUs)."""
    import tempfile

    from zoo.export import ExportRequest, qaihub
    from zoo.export.metadata import tensor_specs
    from zoo.export.npu_ready import npu_ready
    from zoo.export.onnx_export import export_onnx

    request = ExportRequest(target="qnn", device=device, profile=True, inference=False)
    with tempfile.TemporaryDirectory(prefix="edgedit-blocks-") as tmp:
        comps, inputs = {}, {}
        for name, mod in mods.items():
            m, x = npu_ready(mod, option_inputs(cfg, name))
            folder = Path(tmp) / "onnx" / name
            folder.mkdir(parents=True)
            export_onnx(m, x, folder / f"{name}.onnx")
            comps[name], inputs[name] = {"model": folder / f"{name}.onnx", "inputs": tensor_specs(x)}, x
        plan = qaihub.plan("edgedit-blocks", request, comps)
        results = qaihub.run(plan, Path(tmp), inputs, {}, client=client, progress=progress)
    out = {}
    for name, r in results.items():
        prof = r.get("profile") or {}
        if "latency_ms" not in prof:
            raise ZooError(f"AI Hub profile of the {name!r} block gave no latency (job {prof.get('job_id')}): "
                           "see the job page, or search with latency: cpu")
        out[name] = float(prof["latency_ms"])
    return out


def cpu_latency(mods: Mapping[str, Any], cfg: Mapping[str, Any], repeats: int, warmup: int,
                progress: bool = True) -> dict[str, float]:
    """Median ms per forward of each module, timed interleaved (A B C ... A B C ...) so that load
    on the machine spreads evenly over the options."""
    import torch

    from zoo.evaluate.latency import time_interleaved

    inputs = {n: option_inputs(cfg, n) for n in mods}
    with torch.no_grad():
        stats = time_interleaved({n: (lambda n=n: mods[n](**inputs[n])) for n in mods}, warmup, repeats,
                                 progress="per-block CPU latency" if progress else None)
    return {n: st.median_ms for n, st in stats.items()}


def arch_cost(table: Mapping[str, Mapping[str, float]], arch: Sequence[str], cfg: Mapping[str, Any],
              narrow: Mapping[str, Any]) -> dict[str, float]:
    """Params, MACs (and latency) of an architecture: the rest plus one entry per kept block."""
    blocks = arch_to_blocks(arch, len(arch), heads=cfg["num_attention_heads"], head_dim=cfg["attention_head_dim"],
                            mlp_ratio=cfg.get("mlp_ratio", 4.0), **narrow)
    by_widths = {tuple(_option_spec(cfg, o, narrow)[k] for k in ("heads", "head_dim", "mlp_ratio")): o
                 for o in WIDTH_OPTIONS}
    out = dict(table[REST])
    for b in blocks:
        opt = by_widths[(b["heads"], b["head_dim"], b["mlp_ratio"])]
        for k, v in table[opt].items():
            out[k] = out.get(k, 0.0) + v
    return out


def main() -> None:  # pragma: no cover - CLI
    import argparse

    import zoo

    ap = argparse.ArgumentParser(description="EdgeDiT per-block cost table")
    ap.add_argument("model_id", nargs="?", default="edgedit-teacher")
    ap.add_argument("--latency", default="cpu", choices=["cpu", "aihub", "none"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    spec = zoo.get_spec(args.model_id)
    cfg = spec.config["transformer"]
    table = cost_table(cfg, narrow_widths(cfg["num_attention_heads"], cfg["attention_head_dim"]), args.latency,
                       args.repeats)
    for name, row in table.items():
        lat = f"{row['latency_ms']:8.2f} ms" if "latency_ms" in row else ""
        print(f"{name:12s} {row['params'] / 1e6:8.3f} M  {row['macs'] / 1e9:8.3f} GMACs  {lat}")


if __name__ == "__main__":  # pragma: no cover
    main()
