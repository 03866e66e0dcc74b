"""The generic distillation engine on a toy 4-stage net: capture, FwGD, exact resume,
two-process sharding, checkpoints without pickle."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import distill_toy as toy
from zoo import ZooError
from zoo.distill import (
    BlockDistillConfig,
    TrainingInterrupted,
    capture_stage_io,
    distill_blocks,
    load_block,
    stage_mse,
)
from zoo.distill.checkpoint import load_tensors, save_tensors
from zoo.distill.tree import flatten, unflatten

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    net = toy.teacher()
    root = tmp_path_factory.mktemp("cap")
    data = capture_stage_io(net, list(toy.SPACE), toy.run_fn, 4, root, progress=False)
    return net, data, root


def _blocks(folder: Path) -> dict[str, dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    return {p.parent.name: load_file(p) for p in sorted(folder.glob("*/block.safetensors"))}


def test_tree_round_trip(tmp_path):
    obj = {"args": (torch.ones(2), None, 3), "kwargs": {"emb": torch.zeros(1, 2), "flag": True},
           "opt": {0: {"step": torch.tensor(3.0)}}, "betas": (0.9, 0.99), "xs": [1.5, "a"]}
    s, ts = flatten(obj)
    back = unflatten(s, ts)
    assert back["opt"][0]["step"].item() == 3.0 and back["betas"] == (0.9, 0.99) and back["xs"] == [1.5, "a"]
    save_tensors(tmp_path / "x.safetensors", obj)
    back = load_tensors(tmp_path / "x.safetensors")
    assert torch.equal(back["kwargs"]["emb"], obj["kwargs"]["emb"]) and back["args"][1] is None
    with pytest.raises(ZooError):
        flatten({"bad": object()})
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ZooError, match="cannot read"):
        load_tensors(tmp_path / "bad.safetensors")


def test_capture_matches_teacher_stage(captured):
    net, data, root = captured
    assert (root / "index.json").is_file()
    for name, ds in data.items():
        assert len(ds) == 4
        args, kwargs, out = ds[0]
        # the captured output is what the teacher stage computes from the captured input
        with torch.no_grad():
            again = net.get_submodule(name)(*args, **kwargs)
        torch.testing.assert_close(again, out, rtol=1e-5, atol=1e-5)
    # a second capture call reuses what is on disk
    again = capture_stage_io(net, list(toy.SPACE), toy.run_fn, 4, root, progress=False)
    assert len(again["stages.0"]) == 4


def test_fwgd_lowers_stage_error(captured, tmp_path):
    net, data, _ = captured
    cands = [c for c in toy.candidates(net) if c.stage == "stages.1"]
    cfg = BlockDistillConfig(steps=40, lr=2e-3, checkpoint_every=20, out_dir=tmp_path)
    res = distill_blocks(cands, data, cfg, progress=False)
    assert set(res) == {c.name for c in cands}
    ds = data["stages.1"]
    for c in cands:
        with torch.no_grad():
            before = sum(stage_mse(c.build()(*ds[i][0], **ds[i][1]), ds[i][2]) for i in range(len(ds)))
            after = sum(stage_mse(load_block(c, tmp_path)(*ds[i][0], **ds[i][1]), ds[i][2]) for i in range(len(ds)))
        print(f"{c.name}: stage MSE teacher-init {before / len(ds):.4g} -> distilled {after / len(ds):.4g}")
        assert after < 0.7 * before


def test_resume_reproduces_uninterrupted_run(captured, tmp_path):
    net, data, _ = captured
    cands = [c for c in toy.candidates(net) if c.stage == "stages.2"]
    base = dict(steps=17, lr=1e-3, checkpoint_every=5)
    distill_blocks(cands, data, BlockDistillConfig(**base, out_dir=tmp_path / "full"), progress=False)
    with pytest.raises(TrainingInterrupted):  # killed at step 8: the last checkpoint is step 5
        distill_blocks(cands, data, BlockDistillConfig(**base, stop_after=8, out_dir=tmp_path / "cut"), progress=False)
    assert not (tmp_path / "cut" / cands[0].name / "block.safetensors").exists()
    with pytest.raises(ZooError, match="--resume"):
        distill_blocks(cands, data, BlockDistillConfig(**base, out_dir=tmp_path / "cut"), resume=False, progress=False)
    res = distill_blocks(cands, data, BlockDistillConfig(**base, out_dir=tmp_path / "cut"), progress=False)
    assert res[cands[0].name].resumed_from == 5
    full, cut = _blocks(tmp_path / "full"), _blocks(tmp_path / "cut")
    assert full.keys() == cut.keys() and full
    for name in full:
        for k in full[name]:
            assert torch.equal(full[name][k], cut[name][k]), (name, k)


def test_two_processes_give_the_same_blocks(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    toy.main(str(tmp_path / "one"))  # one process: this one
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(29500 + os.getpid() % 1000), str(HERE / "distill_toy.py"), str(tmp_path / "two")]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "world=2 trained=8" in p.stdout  # a real 2-rank gloo group, not two independent copies
    one, two = _blocks(tmp_path / "one" / "blocks"), _blocks(tmp_path / "two" / "blocks")
    assert len(one) == 8 and one.keys() == two.keys()
    for name in one:
        for k in one[name]:
            torch.testing.assert_close(one[name][k], two[name][k], rtol=0, atol=1e-6)


def test_shape_mismatch_is_a_clear_error(captured, tmp_path):
    net, data, _ = captured
    from zoo.distill import Candidate

    class OneOutput(torch.nn.Module):  # accepts the stage's arguments, returns 1 tensor instead of 2
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(toy.CH, toy.CH, 1)

        def forward(self, x, emb=None):
            return self.conv(x)

    bad = Candidate("stages.0", "bad", OneOutput)
    with pytest.raises(ZooError, match="tensors"):
        distill_blocks([bad], data, BlockDistillConfig(steps=2, out_dir=tmp_path), progress=False)
