"""LoRA as graph inputs (QUAD): one exported base graph fed each LoRA's buffers equals torch
with that LoRA merged; the loaded pipeline switches LoRA by name without rebuilding."""
import pytest
import torch
from fraqat_helpers import Inner

import zoo

TINY = "sd15-tiny"
TARGETS = [r"attn\d\.to_(q|k|v|out\.0)$"]
RANK = 4


def _random_lora(layers, rank, seed):
    g = torch.Generator().manual_seed(seed)
    return {n: (torch.randn(m.out_features, rank, generator=g) * 0.3, torch.randn(rank, m.in_features, generator=g) * 0.3)
            for i, (n, m) in enumerate(layers.items()) if i % 3 != seed % 3}  # each leaves some layers unadapted


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory):
    from zoo_fraqat.lora import add_lora_inputs, save_lora

    out = tmp_path_factory.mktemp("loras")
    unet = zoo.build(TINY).unet
    layers = add_lora_inputs(unet, RANK, TARGETS)
    return {name: save_lora(_random_lora(layers, r, i), out / f"{name}.safetensors")
            for i, (name, r) in enumerate([("blur", 1), ("sharpen", 2), ("recolor", 4)])}


def _unet_out(unet, inputs):
    with torch.no_grad():
        return unet(**inputs, return_dict=False)[0]


def test_switch_by_name_without_rebuild(lora_files):
    from zoo.components import component_modules
    from zoo_fraqat.lora import merged_copy, read_lora

    pipe = zoo.load(TINY, pretrained=False, techniques={"lora-inputs": {"rank": RANK, "targets": TARGETS,
                                                                           "loras": {k: str(v) for k, v in lora_files.items()}}})
    assert pipe.loras.names == ["blur", "sharpen", "recolor"] and pipe.loras.active == "blur"
    _, inputs = component_modules(pipe, names=["unet"])["unet"]
    unet, first_layer = pipe.unet, next(iter(pipe.loras.layers.values()))
    outs = {}
    for name, path in lora_files.items():
        pipe.loras.use(name)
        outs[name] = _unet_out(pipe.unet, inputs)
        merged = merged_copy(pipe.unet, read_lora(path))
        torch.testing.assert_close(outs[name], _unet_out(merged, inputs), rtol=1e-4, atol=1e-5)
    assert pipe.unet is unet and next(iter(pipe.loras.layers.values())) is first_layer  # nothing rebuilt
    assert not torch.allclose(outs["blur"], outs["sharpen"])
    with pytest.raises(zoo.ZooError, match="no LoRA named 'nope'"):
        pipe.loras.use("nope")


def test_one_onnx_graph_matches_each_merged_lora_toy(tmp_path):
    """The same exported file fed each LoRA's buffers == torch with that LoRA merged (small module)."""
    from zoo.export.onnx_export import export_onnx, run_onnx, session
    from zoo_fraqat.lora import LoRABank, LoRAGraph, add_lora_inputs, merged_copy

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 32), torch.nn.GELU(),
                              torch.nn.Linear(32, 8)).eval()

    layers = add_lora_inputs(net, RANK, ["^0$", "^2$", "^4$"])
    graph = LoRAGraph(Inner(net), layers)
    bank = LoRABank(net)
    x = {"x": torch.randn(3, 16)}
    export_onnx(graph, {**x, **graph.lora_inputs(bank.buffers(None))}, tmp_path / "toy.onnx")
    sess = session(tmp_path / "toy.onnx")
    outs = []
    for i, r in enumerate([1, 2, 4]):
        lora = _random_lora(layers, r, i)
        bank.add(f"t{i}", lora)
        got = run_onnx(tmp_path / "toy.onnx", {**x, **graph.lora_inputs(bank.buffers(f"t{i}"))}, sess)
        with torch.no_grad():
            want = merged_copy(net, lora)(x["x"])
        torch.testing.assert_close(torch.from_numpy(got), want, rtol=1e-4, atol=1e-5)
        outs.append(got)
    assert not (outs[0] == outs[1]).all()


@pytest.mark.slow
def test_one_onnx_graph_matches_each_merged_lora(lora_files, tmp_path):
    import onnx

    from zoo.export.onnx_export import session
    from zoo_fraqat.lora import LoRABank, add_lora_inputs, merged_copy, read_lora
    from zoo_fraqat.lora_export import export_lora_graph, lora_graph, run_lora_graph

    pipe = zoo.load(TINY, pretrained=False)
    layers = add_lora_inputs(pipe.unet, RANK, TARGETS)
    path = tmp_path / "unet-lora-inputs.onnx"
    info = export_lora_graph(pipe, zoo.spec_of(pipe), "unet", path)
    names = {i.name for i in onnx.load(str(path), load_external_data=False).graph.input}
    assert len(info["lora_inputs"]) == 2 * len(layers) and set(info["lora_inputs"]) <= names
    graph, inputs = lora_graph(pipe, zoo.spec_of(pipe), "unet")
    bank = LoRABank(pipe.unet)
    sess = session(path)
    for name, f in lora_files.items():
        bank.add(name, f)
        got = run_lora_graph(path, graph, inputs, bank.buffers(name), sess)
        want = _unet_out(merged_copy(pipe.unet, read_lora(f)), inputs)
        torch.testing.assert_close(torch.from_numpy(got), want, rtol=1e-3, atol=1e-4)


def test_bad_lora_is_clear(lora_files, tmp_path):
    with pytest.raises(zoo.WeightsNotFoundError, match="no LoRA file"):
        zoo.load(TINY, pretrained=False, techniques={"lora-inputs": {"loras": {"x": str(tmp_path / "none.safetensors")}}})
    with pytest.raises(zoo.ZooError, match="do not fit"):
        zoo.load(TINY, pretrained=False, techniques={"lora-inputs": {"rank": 1, "targets": TARGETS,
                                                                        "loras": {"r": str(lora_files["recolor"])}}})
