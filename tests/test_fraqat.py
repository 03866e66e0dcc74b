"""FraQAT: fractional ranges as the paper's table, quantisers, the technique on a tiny model,
KD training through a schedule, packed 4-bit weights round-tripping through zoo.load."""
import pytest
import torch
from fraqat_helpers import Inner

import zoo

TINY = "sd15-tiny"  # (pixart-sigma-tiny trains too, but its fp32 ONNX export fails in the core today)
DENOISER = "unet"


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

    mod, inputs = component_modules(pipe, names=[DENOISER])[DENOISER]
    with torch.no_grad():
        return mod(**inputs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny model trained for a few KD steps through a short fractional schedule."""
    out = tmp_path_factory.mktemp("fraqat")
    torch.manual_seed(0)
    cfg = {"train": True, "schedule": [8, 5.5, 4], "epochs": [1, 1, 2], "lr": 1e-3, "batch_size": 4,
           "steps_per_epoch": 2, "kd_prompts": 2, "kd_steps": 2, "calibration_samples": 8, "out_dir": str(out),
           "progress": False}
    return zoo.load(TINY, pretrained=False, techniques={"fraqat": cfg}), out / "fraqat.safetensors"


def test_train_pack_and_load_roundtrip(trained):
    from zoo_fraqat.layers import quant_layers
    from zoo_fraqat.packing import size_report

    pipe, packed = trained
    layers = quant_layers(pipe.unet)
    assert layers and all(m.w_bits == 4 and m.static and m.frozen_scale is not None for m in layers.values())
    assert all(int(m.codes().min()) >= -8 and int(m.codes().max()) <= 7 for m in layers.values())
    ref = _out(pipe)
    # a fresh random-init model: everything it computes must come from the packed file
    torch.manual_seed(1)
    again = zoo.load(TINY, pretrained=False, techniques={"fraqat": {"weights": str(packed)}})
    for name, m in quant_layers(again.unet).items():
        assert torch.equal(m.codes(), layers[name].codes())
        assert torch.equal(m.weight, layers[name].scale() * layers[name].codes().float())
        assert torch.equal(m.act_min, layers[name].act_min)
    assert torch.equal(_out(again), ref)  # bit-exact
    rep = size_report(again.unet, packed)
    assert 7.0 < rep["ratio_linear"] <= 8.0  # two codes per byte + one fp32 scale per layer


def test_qdq_export_of_carried_quantisation(tmp_path):
    """The core's carried-quantisation export on a small module: Q/DQ operators with the
    layers' own scales, int codes stored as int8, AIMET-style encodings, onnxruntime == torch."""
    import json

    import onnx

    from zoo.export import ExportRequest
    from zoo.export.carried import export_carried
    from zoo_fraqat.layers import calibrate_static, quantize_linears

    torch.manual_seed(0)
    mod = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8)).eval()
    layers = quantize_linears(mod, 4, 8)
    calibrate_static(layers, lambda: [mod(torch.randn(4, 16)) for _ in range(8)])
    for m in layers.values():
        m.freeze()

    x = {"x": torch.randn(2, 16)}
    with torch.no_grad():
        ref = Inner(mod)(**x)
    info = export_carried("toy", Inner(mod), x, ref, tmp_path, ExportRequest(precision="w4a8"), False)
    model = onnx.load(str(tmp_path / "toy.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") == 2 and ops.count("DequantizeLinear") == 4
    codes = {tuple(i.dims) for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert {(32, 16), (8, 32)} <= codes  # the 4-bit codes stored as integers, not floats
    enc = json.loads((tmp_path / "toy.encodings.json").read_text())
    assert set(enc["param_encodings"]) == {"inner.0.weight", "inner.2.weight"}
    assert enc["param_encodings"]["inner.0.weight"][0]["bitwidth"] == 4
    assert enc["param_encodings"]["inner.0.weight"][0]["scale"] == pytest.approx(float(layers["0"].frozen_scale))
    assert enc["activation_encodings"]["inner.0.input"][0]["bitwidth"] == 8
    assert info["parity"]["rel_max"] < 1e-5  # the same grid in torch and onnxruntime


@pytest.mark.slow
def test_export_w4a8_through_zoo_export(trained, tmp_path):
    import json

    from zoo.export import ExportRequest, export

    pipe, _ = trained
    paths = export(pipe, ExportRequest(target="onnx", precision="w4a8", components=[DENOISER], out_dir=tmp_path,
                                       optimize=False), progress=False)
    meta = json.loads((paths[0].parent / "metadata.json").read_text())["components"][DENOISER]
    assert meta["quantization"]["weight_bits"] == 4 and (paths[0].parent / meta["quantization"]["encodings"]).is_file()
    assert meta["parity"]["rel_max"] < 1e-2
    with pytest.raises(zoo.ZooError, match="carries W4A8 quantisation but the export asks for w8a8"):
        export(pipe, ExportRequest(target="onnx", precision="w8a8", components=[DENOISER], out_dir=tmp_path,
                                   calibration="example"), progress=False)


def test_missing_packed_file_is_clear(tmp_path):
    with pytest.raises(zoo.WeightsNotFoundError, match="no packed FraQAT weights"):
        zoo.load(TINY, pretrained=False, techniques={"fraqat": {"weights": str(tmp_path / "none.safetensors")}})


def test_plugin_contract():
    from zoo.testing import check_plugin

    check_plugin("fraqat")
    t = zoo.get_registry().technique("fraqat")
    assert "fraqat" in t.recipes and t.choices["per_channel"].value is False
    assert zoo.get_registry().technique("lora-inputs").choices["rank"].why
