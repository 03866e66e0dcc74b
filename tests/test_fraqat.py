"""FraQAT: fractional ranges as the paper's table, quantisers, the technique on a tiny model,
KD training through a schedule, packed 4-bit weights round-tripping through zoo.load."""
import pytest
import torch

import zoo

TINY = "pixart-sigma-tiny"


@pytest.mark.parametrize("bits,rng", [(8, (-128, 127)), (7, (-64, 63)), (6, (-32, 31)), (5.5, (-22, 21)),
                                      (5, (-16, 15)), (4.75, (-13, 12)), (4.5, (-11, 10)), (4.25, (-9, 8)),
                                      (4, (-8, 7))])
def test_fractional_ranges_are_the_papers_table(bits, rng):
    from zoo_fraqat.quant import fake_quant_weight, int_range, quantize_weight, weight_scale

    assert int_range(bits) == rng
    w = torch.randn(64, 32)
    s = weight_scale(w, bits)
    q = quantize_weight(w, bits, s)
    assert int(q.min()) >= rng[0] and int(q.max()) <= rng[1]
    assert int(q.abs().max()) == rng[1]  # max|W| lands on the top code
    # fake-quantised weights lie on the grid: at most qmax - qmin + 1 distinct values
    assert fake_quant_weight(w, bits).unique().numel() <= rng[1] - rng[0] + 1


def test_quantisers_ste_and_activation_grid():
    from zoo_fraqat.quant import act_qparams, fake_quant_act, fake_quant_weight

    w = torch.randn(8, 8, requires_grad=True)
    fake_quant_weight(w, 4).sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through
    x = torch.linspace(-1.0, 3.0, 1000)
    y = fake_quant_act(x, x.min(), x.max(), 8)
    s, zp = act_qparams(x.min(), x.max(), 8)
    assert y.unique().numel() <= 256 and (y - x).abs().max() <= s  # within one step (top clipped by < S)
    assert float(fake_quant_act(torch.zeros(1), x.min(), x.max(), 8)) == 0.0  # zero exact
    with pytest.raises(zoo.ZooError):
        fake_quant_weight(w, 1.5)


def test_bad_option_is_one_line_error():
    with pytest.raises(zoo.ZooError, match="schedule .2 stages. and epochs .1. must pair up"):
        zoo.load(TINY, pretrained=False, techniques={"fraqat": {"schedule": [8, 4], "epochs": [1]}})


def _out(pipe, seed=0):
    from zoo.components import component_modules

    mod, inputs = component_modules(pipe, names=["transformer"])["transformer"]
    with torch.no_grad():
        return mod(**inputs)


def test_train_pack_and_load_roundtrip(tmp_path):
    from zoo_fraqat.layers import quant_layers
    from zoo_fraqat.packing import size_report

    torch.manual_seed(0)
    cfg = {"train": True, "schedule": [8, 5.5, 4], "epochs": [1, 1, 2], "lr": 1e-3, "batch_size": 4,
           "steps_per_epoch": 2, "kd_prompts": 2, "kd_steps": 2, "calibration_samples": 8, "out_dir": str(tmp_path),
           "progress": False}
    pipe = zoo.load(TINY, pretrained=False, techniques={"fraqat": cfg})
    layers = quant_layers(pipe.transformer)
    assert layers and all(m.w_bits == 4 and m.static and m.frozen_scale is not None for m in layers.values())
    assert all(int(m.codes().min()) >= -8 and int(m.codes().max()) <= 7 for m in layers.values())
    ref = _out(pipe)
    packed = tmp_path / "fraqat.safetensors"
    # a fresh random-init model: everything it computes must come from the packed file
    torch.manual_seed(1)
    again = zoo.load(TINY, pretrained=False, techniques={"fraqat": {"weights": str(packed)}})
    for name, m in quant_layers(again.transformer).items():
        assert torch.equal(m.codes(), layers[name].codes())
        assert torch.equal(m.weight, layers[name].scale() * layers[name].codes().float())
        assert torch.equal(m.act_min, layers[name].act_min)
    assert torch.equal(_out(again), ref)  # bit-exact
    rep = size_report(again.transformer, packed)
    assert 7.0 < rep["ratio_linear"] <= 8.0  # two codes per byte + one fp32 scale per layer


def test_missing_packed_file_is_clear(tmp_path):
    with pytest.raises(zoo.WeightsNotFoundError, match="no packed FraQAT weights"):
        zoo.load(TINY, pretrained=False, techniques={"fraqat": {"weights": str(tmp_path / "none.safetensors")}})
