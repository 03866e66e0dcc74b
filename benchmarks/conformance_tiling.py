"""Where the conformance kit's VAE-tiling threshold comes from: correlation of tiled with untiled
decode for the tiny VAEs (random weights, as the kit sees them), beside a broken tiler's (the
untiled output shifted by 5 pixels). The kit requires correlation > 0.5.

    python benchmarks/conformance_tiling.py
"""
from __future__ import annotations

import copy


def corr(a, b) -> float:
    import torch

    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


def main() -> None:
    import torch

    import zoo

    print(f"{'model':14s} {'VAE':16s} {'tiled':>7s} {'shifted 5px':>12s}")
    for model_id in ("sd15-tiny", "nanosd-tiny"):
        torch.manual_seed(0)
        vae = copy.deepcopy(zoo.build(model_id).vae)
        f = 2 ** (len(vae.config.block_out_channels) - 1)
        lt = vae.config.sample_size // f  # tiles engage above sample_size pixels, as in AutoencoderKL
        z = torch.randn(1, vae.config.latent_channels, 2 * lt + 1, lt + 3, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            whole = vae.decode(z).sample
            vae.enable_tiling()
            tiles = vae.decode(z).sample
        print(f"{model_id:14s} {type(vae).__name__:16s} {corr(tiles, whole):7.2f} {corr(torch.roll(whole, 5, -1), whole):12.2f}")


if __name__ == "__main__":
    main()
