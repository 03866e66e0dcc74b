"""EdgeDiT's cost table: transformer params and MACs (attention included) of edgedit-teacher
(DiT-XL/2 with one shared embedder), edgedit-1 and edgedit-6 at 256x256 (32x32 latent), built on
the meta device through ``zoo.evaluate``, beside the paper's figures (GFLOPs = 2 x GMACs), and
the stock diffusers DiT-XL/2 (per-block embedders) for reference.

    python benchmarks/edgedit_cost.py
"""
from __future__ import annotations

import sys

IDS = ["dit-xl-2-256", "edgedit-teacher", "edgedit-1", "edgedit-6"]


def main() -> int:
    import zoo
    import zoo.evaluate

    print(f"{'model':16s} {'params M':>9s} {'paper':>7s} {'diff':>7s}   {'GFLOPs':>7s} {'paper':>7s} {'diff':>7s}   "
          f"{'GMACs':>7s}  block choices")
    worst = 0.0
    for mid in IDS:
        spec = zoo.get_spec(mid)
        recs = zoo.evaluate.evaluate(mid, "cost", meta=True, latency=False, components=["transformer"], progress=False)
        got = {r["metric"]: r["value"] for r in recs}
        params, gflops = got["params"] / 1e6, 2 * got["macs"] / 1e9
        p_ref = spec.reported.get("transformer_params_m")
        f_ref = 2 * spec.reported["transformer_gmacs"] if "transformer_gmacs" in spec.reported else None
        dp = f"{100 * (params / p_ref - 1):+6.2f}%" if p_ref else "-"
        df = f"{100 * (gflops / f_ref - 1):+6.2f}%" if f_ref else "-"
        if mid.startswith("edgedit"):
            worst = max(worst, abs(params / p_ref - 1), abs(gflops / f_ref - 1))
        arch = spec.config.get("arch")
        summary = "stock diffusers class, per-block embedders" if arch is None else (
            f"{arch.count('merge')} merged, {sum(a in ('half-mlp', 'narrow') for a in arch)} MLP x2, "
            f"{sum(a in ('narrow-attn', 'narrow') for a in arch)} attn 512")
        print(f"{mid:16s} {params:9.2f} {p_ref or 0:7.1f} {dp:>7s}   {gflops:7.2f} {f_ref or 0:7.2f} {df:>7s}   "
              f"{got['macs'] / 1e9:7.2f}  {summary}")
    print(f"largest deviation of an EdgeDiT row from the paper: {100 * worst:.2f}%")
    return 0 if worst <= 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
