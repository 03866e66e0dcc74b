"""mini-edit's output choice on held-out edits: InstructPix2Pix's plain decode D(z_edit) vs the residual output
x + D(z_edit) - D(z_x) (MiniEditPipeline's residual_output), same weights, sampler and crops, beside the identity
baseline and the VAE round trip of the input (what every plain decode pays). PSNR per edit operation.

    python benchmarks/mini_edit_output.py [--weights DIR] [--count 64] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="a mini-edit weights folder (default: the shipped ones)")
    ap.add_argument("--count", type=int, default=64, help="held-out crops per edit operation")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    import zoo
    from zoo.proving.edits import OPS, edits, identity_baseline, pipeline_editor, score

    pipe = zoo.load("mini-edit", weights=args.weights, progress=False) if args.weights else zoo.load("mini-edit", progress=False)
    pipe.set_progress_bar_config(disable=True)
    kw = zoo.get_spec("mini-edit").config["call_kwargs"]
    print(f"mini-edit ({args.weights or 'shipped weights'}), sampler {kw}, {args.count} held-out crops per operation")
    print("| seed | output | all | " + " | ".join(OPS) + " |")
    print("|---|---|---|" + "---|" * len(OPS))
    for seed in args.seeds:
        ds = edits("test", 32, args.count * len(OPS), None, seed)
        rows = {"identity": identity_baseline(ds)}
        x, _ = ds.tensors()
        with torch.no_grad():
            rt = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
        rows["VAE round trip of the input"] = score(((rt.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round()
                                                   .clip(0, 255).astype(np.uint8), ds)
        for residual in (False, True):
            pipe.register_to_config(residual_output=residual)
            outs = pipeline_editor(pipe, 16, seed, False, **kw)(ds)
            rows["residual x + D(z) - D(z_x)" if residual else "decode D(z)"] = score(outs, ds)
        for name, r in rows.items():
            print(f"| {seed} | {name} | {r['all']['psnr']:.2f} | " + " | ".join(f"{r[o]['psnr']:.2f}" for o in OPS) + " |")


if __name__ == "__main__":
    main()
