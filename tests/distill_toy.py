"""A toy 4-stage time-conditioned conv net for the engine tests (no model family involved).

Stage i holds 3 residual conv units; its candidates keep the first k of them (k in 1..2),
starting from the teacher's weights with the rest dropped, as NanoSD's students do.
Run as a script (under torchrun) it distils all candidates into the folder given.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

CH, DEPTH, N_STAGES = 8, 3, 4


class Unit(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(2, ch)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.emb = nn.Linear(ch, ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, emb):
        h = self.conv1(torch.nn.functional.silu(self.norm(x))) + self.emb(emb)[:, :, None, None]
        return x + self.conv2(torch.nn.functional.silu(h))


class Stage(nn.Module):
    def __init__(self, ch: int = CH, depth: int = DEPTH) -> None:
        super().__init__()
        self.units = nn.ModuleList(Unit(ch) for _ in range(depth))

    def forward(self, x, emb=None):
        for u in self.units:
            x = u(x, emb)
        return x, x.mean(dim=(2, 3))  # a tuple output, like a down block with a skip


class ToyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Conv2d(2, CH, 3, padding=1)
        self.t_emb = nn.Linear(1, CH)
        self.stages = nn.ModuleList(Stage() for _ in range(N_STAGES))
        self.out = nn.Conv2d(CH, 2, 3, padding=1)

    def forward(self, x, t):
        emb = torch.sin(self.t_emb(t[:, None].float() / 1000))
        h = self.inp(x)
        for s in self.stages:
            h, _ = s(h, emb=emb)
        return self.out(h)


def teacher(seed: int = 0) -> ToyNet:
    torch.manual_seed(seed)
    return ToyNet().eval()


def run_fn(model, b: int) -> None:
    g = torch.Generator().manual_seed(1000 + b)
    model(torch.randn(2, 2, 8, 8, generator=g), torch.randint(0, 1000, (2,), generator=g))


SPACE = {f"stages.{i}": ["3", "2", "1"] for i in range(N_STAGES)}
ORIGINAL = {s: "3" for s in SPACE}


def candidates(net: ToyNet):
    from zoo.distill import Candidate

    def build(stage: str, k: int):
        def make():
            src = net.get_submodule(stage)
            blk = Stage(depth=k)
            blk.units.load_state_dict({kk: v for kk, v in src.units.state_dict().items() if int(kk.split(".")[0]) < k})
            return blk
        return make

    return [Candidate(s, c, build(s, int(c)), weight=int(c)) for s, opts in SPACE.items() for c in opts
            if c != ORIGINAL[s]]


def main(out: str) -> None:
    from zoo.distill import BlockDistillConfig, capture_stage_io, distill_blocks, process_state

    state = process_state()
    net = teacher()
    data = capture_stage_io(net, list(SPACE), run_fn, 4, Path(out) / "capture", state=state, progress=False)
    cfg = BlockDistillConfig(steps=12, lr=1e-3, checkpoint_every=5, out_dir=Path(out) / "blocks")
    res = distill_blocks(candidates(net), data, cfg, state=state, progress=False)
    if state.is_main_process:
        print(f"world={state.num_processes} trained={len(res)}")


if __name__ == "__main__":
    main(sys.argv[1])
