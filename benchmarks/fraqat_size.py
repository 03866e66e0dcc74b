"""On-disk size of FraQAT's packed W4 weights vs float32.

Measured: ``--model``'s denoiser with every linear layer quantised to 4 bits, written by
``save_packed`` (two codes per byte + one fp32 scale per layer; every other tensor fp32), read
back and compared with the float32 safetensors of the same module. Computed from parameter
counts on the meta device: the same ratio for a full-size model (``--full``).

    .venv/bin/python benchmarks/fraqat_size.py --model mini-pixart --full pixart-sigma
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def measured(model_id: str, random_init: bool) -> dict:
    from safetensors.torch import save_file

    import zoo
    from zoo.capabilities import denoiser_of
    from zoo_fraqat.layers import quant_layers, quantize_linears
    from zoo_fraqat.packing import save_packed, size_report

    den = denoiser_of(zoo.load(model_id, pretrained=not random_init, progress=False))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.safetensors"
        save_file({k: v.contiguous() for k, v in den.state_dict().items()}, str(fp32))
        quantize_linears(den, 4.0, 8.0)
        for m in quant_layers(den).values():
            m.freeze()
        packed = save_packed(den, Path(tmp) / "fraqat.safetensors")
        rep = size_report(den, packed)
        rep["fp32_file_bytes"] = fp32.stat().st_size
    return rep


def computed(model_id: str) -> dict:
    import torch

    import zoo
    from zoo.capabilities import denoiser_of

    den = denoiser_of(zoo.build(model_id, device="meta"))
    lin = [m for m in den.modules() if isinstance(m, torch.nn.Linear)]
    lin_params = sum(m.weight.numel() for m in lin)
    total = sum(p.numel() for p in den.parameters())
    packed_lin = sum((m.weight.numel() + 1) // 2 + 4 for m in lin)
    return {"params": total, "linear_share": lin_params / total, "fp32": total * 4,
            "packed": (total - lin_params) * 4 + packed_lin, "ratio_linear": lin_params * 4 / packed_lin}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini-pixart")
    p.add_argument("--random-init", action="store_true")
    p.add_argument("--full", default="pixart-sigma", help="full-size model id for the computed row ('' to skip)")
    args = p.parse_args(argv)
    r = measured(args.model, args.random_init)
    print(f"{args.model} denoiser, measured files: fp32 {r['fp32_file_bytes'] / 1e6:.3f} MB, packed W4 "
          f"{r['file_bytes'] / 1e6:.3f} MB (x{r['fp32_file_bytes'] / r['file_bytes']:.2f}); linear weights alone "
          f"{r['linear_fp32_bytes'] / 1e6:.3f} MB -> {r['linear_packed_bytes'] / 1e6:.3f} MB (x{r['ratio_linear']:.2f})")
    if args.full:
        c = computed(args.full)
        print(f"{args.full} denoiser, computed (meta device): {c['params'] / 1e6:.1f}M params, "
              f"{100 * c['linear_share']:.1f}% in linear layers; fp32 {c['fp32'] / 1e9:.3f} GB -> packed W4 "
              f"{c['packed'] / 1e9:.3f} GB (x{c['fp32'] / c['packed']:.2f}); linear weights x{c['ratio_linear']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
