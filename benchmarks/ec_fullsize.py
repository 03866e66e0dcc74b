"""Full-size wall time of EC vs 1-, 2- and 3-pass CFG on the same SD1.5-size UNet (ec-sd15's), interleaved.

    nice -n 15 .venv/bin/python benchmarks/ec_fullsize.py --steps 2 --repeats 2

Times the denoising loop, which is where the methods differ: EC runs the prompt VAE once, then one UNet
pass per step (batch 1); k-pass CFG runs the UNet on a batch of k per step, as diffusers' InstructPix2Pix
pipeline batches its three branches. Text encoding and the VAE encode/decode are the same for both and
are left out. Methods run in turn within each repeat (EC, CFG1, CFG2, CFG3, EC, ...); medians printed.
Random weights (timing does not depend on them).
"""
from __future__ import annotations

import argparse
import statistics
import time


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ec-sd15", help="ec-sd15 or ec-nanosd-m")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--latent", type=int, default=64, help="latent side (64 = 512 px)")
    args = ap.parse_args(argv)

    import torch

    import zoo

    torch.manual_seed(0)
    pipe = zoo.build(args.model, device="meta")  # shapes only, then real weights for the two modules timed
    unet = type(pipe.unet).from_config(pipe.unet.config).eval()
    pvae = type(pipe.prompt_vae).from_config({**pipe.prompt_vae.config, "latent_size": args.latent}).eval()
    del pipe
    hidden, text_len = unet.config.cross_attention_dim, 77
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1, 4, args.latent, args.latent, generator=g)
    states = torch.randn(3, text_len, hidden, generator=g)
    pooled = torch.randn(1, pvae.config.pooled_dim, generator=g)

    def ec() -> None:
        mean, logvar = pvae(pooled)
        x = mean + logvar.exp().sqrt() * z  # y ~ N(mu, Sigma); the image posterior's encode is shared with CFG
        for i in range(args.steps):
            x = x - unet(x, torch.tensor([1000.0 * (1 - i / args.steps)]), encoder_hidden_states=states[:1]).sample / args.steps

    def cfg(k: int):
        def run() -> None:
            x = z
            for i in range(args.steps):
                out = unet(x.expand(k, -1, -1, -1), torch.tensor([999.0 - i]), encoder_hidden_states=states[:k]).sample
                x = x - out.mean(0, keepdim=True) / args.steps  # guidance combination: negligible cost
        return run

    methods = {"EC (1 pass)": ec, "CFG 1-pass": cfg(1), "CFG 2-pass": cfg(2), "CFG 3-pass": cfg(3)}
    times: dict[str, list[float]] = {m: [] for m in methods}
    with torch.no_grad():
        ec()  # warm-up
        for r in range(args.repeats):
            for name, fn in methods.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
            print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
    med = {n: statistics.median(t) for n, t in times.items()}
    params = sum(p.numel() for p in unet.parameters()) / 1e6
    print(f"{args.model} UNet {params:.1f}M params, latent {args.latent}x{args.latent}, {args.steps} steps, "
          f"{args.repeats} interleaved repeats, torch threads {torch.get_num_threads()}")
    for name, t in med.items():
        print(f"{name:12s} median {t:8.2f} s   {t / med['EC (1 pass)']:.2f}x EC's time")
    return med


if __name__ == "__main__":
    main()
