"""QUAD: per-LoRA sensitivity (JS divergence fp vs quantised), the anchor's shared encodings,
fine-tuning of the other LoRAs under them (only their factors change)."""
import torch

import zoo

TARGETS = [r"attn\d\.to_(q|k|v|out\.0)$"]


def test_js_divergence_basics():
    from zoo_fraqat.quad import js_divergence

    a = torch.randn(2, 4, 8, 8)
    assert float(js_divergence(a, a)) < 1e-7
    d = float(js_divergence(a, a * 3))
    assert 0 < d <= torch.log(torch.tensor(2.0)) and abs(d - float(js_divergence(a * 3, a))) < 1e-6


def test_quad_anchor_and_finetune_under_shared_encodings():
    from zoo.components import component_modules
    from zoo_fraqat.data import pipeline_kd_data
    from zoo_fraqat.quad import _fixed_batches, quad, shared_error

    torch.manual_seed(0)
    pipe = zoo.load("sd15-tiny", pretrained=False, techniques={"lora-inputs": {"rank": 4, "targets": TARGETS}})
    model, _ = component_modules(pipe, names=["unet"])["unet"]
    bank = pipe.loras
    g = torch.Generator().manual_seed(0)
    originals = {}
    for name, scale in [("small", 0.05), ("medium", 0.2), ("large", 0.6)]:
        originals[name] = {n: (torch.randn(m.out_features, 2, generator=g) * scale,
                               torch.randn(2, m.in_features, generator=g) * scale) for n, m in bank.layers.items()}
        bank.add(name, originals[name])
    data = pipeline_kd_data(pipe, zoo.spec_of(pipe), "unet", ["a cat", "a dog"], 2, 0, progress=False)
    base_weights = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    res = quad(model, bank, originals, data.batch_with_target, calibration_batches=2, batch_size=4, steps=12, lr=1e-3,
               w_bits=8, a_bits=8, progress=False, denoise_weight=0.0)  # random weights: KD term only
    assert set(res.qss) == {"small", "medium", "large"} and all(v > 0 for v in res.qss.values())
    assert res.anchor == max(res.qss, key=res.qss.get)
    assert set(res.encodings) == set(bank.layers) and all({"input", "output"} <= set(e) for e in res.encodings.values())
    assert set(res.finetune_loss) == set(originals) - {res.anchor}
    assert all(torch.equal(v, base_weights[k]) for k, v in pipe.unet.state_dict().items())  # only LoRAs change
    held_out = _fixed_batches(data.batch_with_target, 2, 4, 1234)
    for name in res.finetune_loss:
        after = shared_error(model, bank, name, originals[name], res.encodings, held_out, 8, 8)
        tuned = bank.loras[name]
        bank.add(name, originals[name])
        before = shared_error(model, bank, name, originals[name], res.encodings, held_out, 8, 8)
        bank.loras[name] = tuned
        assert after < before, (name, before, after)
