"""TOC-SR cost check at full size (meta device, attention counted): teacher vs tocsr-x4 UNet, the
surrogate library's per-slot table (``--table``), from which tocsr-x4's block choices were picked.

    nice -n 15 .venv/bin/python benchmarks/tocsr_costs.py [--table] [--json OUT]
"""
from __future__ import annotations

import argparse
import json

import zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", action="store_true", help="print the per-slot table")
    ap.add_argument("--json", help="write the numbers here")
    a = ap.parse_args()
    from zoo_tocsr.costs import slot_table, unet_cost

    cfg = lambda i: zoo.get_spec(i).config["components"]["unet"]["config"]  # noqa: E731
    t, s = unet_cost(cfg("tocsr-teacher")), unet_cost(cfg("tocsr-x4"))
    print("UNet at 64x64 latent, meta device, attention counted")
    print(f"{'model':14s} {'params (M)':>11s} {'GMACs':>8s} {'attn GMACs':>11s}")
    for name, c in (("tocsr-teacher", t), ("tocsr-x4", s)):
        print(f"{name:14s} {c['params'] / 1e6:11.2f} {c['macs'] / 1e9:8.2f} {c['attention_macs'] / 1e9:11.2f}")
    rp, rm = t["params"] / s["params"], t["macs"] / s["macs"]
    print(f"ratios: params {rp:.3f}x (paper 6.6x, {100 * (rp / 6.6 - 1):+.2f}%), "
          f"GMACs {rm:.3f}x (paper 2.8x, {100 * (rm / 2.8 - 1):+.2f}%)")
    out = {"teacher": t, "tocsr-x4": s, "params_ratio": rp, "macs_ratio": rm}
    if a.table:
        base, table = slot_table(cfg("tocsr-teacher"))
        print(f"base (embeddings, conv_in/out, resamplers): {base['params'] / 1e6:.2f}M / {base['macs'] / 1e9:.2f} GMACs")
        for path, opts in table.items():
            print(path, "  ".join(f"{o}: {p / 1e6:.2f}M/{m / 1e9:.2f}G" for o, (p, m) in opts.items()))
        out["table"] = {"base": base, "slots": table}
    if a.json:
        from zoo.atomic import write_text

        write_text(a.json, json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
