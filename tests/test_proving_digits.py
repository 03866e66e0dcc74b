"""The digits task and its metrics (zoo.proving): split, prompts, classifier, Fréchet distance,
bad input. Needs no model."""
import numpy as np
import pytest
import torch

import zoo
from zoo import proving


def test_split_fixed_disjoint_and_shaped():
    tr, ho = proving.digits_split("train"), proving.digits_split("held_out")
    assert tr.images.shape == (1500, 3, 32, 32) and ho.images.shape == (297, 3, 32, 32)
    assert tr.images.dtype == torch.float32 and float(tr.images.min()) >= -1 and float(tr.images.max()) <= 1
    assert set(tr.labels.tolist()) == set(range(10)) == set(ho.labels.tolist())
    # no held-out image is a training image
    rows = {r.tobytes() for r in tr.raw}
    assert not {r.tobytes() for r in ho.raw} & rows
    proving.digits_split.cache_clear()
    again = proving.digits_split("held_out")
    assert torch.equal(again.images, ho.images) and torch.equal(again.labels, ho.labels)


def test_prompts_and_vocabulary():
    assert proving.prompt_for(7) == "a handwritten digit 7"
    assert proving.PROMPTS[3] == "a handwritten digit 3"
    assert proving.label_of("a handwritten digit 7") == 7
    assert proving.label_of("  A handwritten  digit 0 ") == 0
    for bad in ("a handwritten digit 12", "a photo of a cat", "a handwritten digit"):
        with pytest.raises(zoo.ZooError, match="outside the digits vocabulary"):
            proving.label_of(bad)
    with pytest.raises(zoo.ZooError, match="outside 0..9"):
        proving.prompt_for(10)
    with pytest.raises(zoo.ZooError, match="unknown digits split"):
        proving.digits_split("test")


def _real(split):
    s = proving.digits_split(split)
    return (s.images + 1) / 2, s.labels.tolist()


def test_classifier_reads_held_out_real_digits():
    x, y = _real("held_out")
    assert proving.prompt_accuracy(x, y) >= 0.95
    # prompts work as labels too
    assert proving.prompt_accuracy(x[:20], [proving.prompt_for(v) for v in y[:20]]) >= 0.9
    noise = torch.rand(100, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert proving.prompt_accuracy(noise, [v % 10 for v in range(100)]) <= 0.3


def test_frechet_real_far_below_noise():
    x_tr, _ = _real("train")
    real = proving.digits_frechet(x_tr[:300])
    noise = proving.digits_frechet(torch.rand(300, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert real < 5 and noise > 20 * real, (real, noise)


def test_image_formats_agree():
    from PIL import Image

    x, y = _real("held_out")
    x, y = x[:12], y[:12]
    arr = x.permute(0, 2, 3, 1).numpy()  # diffusers output_type='np'
    pil = [Image.fromarray((a * 255).round().astype(np.uint8)) for a in arr]
    grey = [p.convert("L") for p in pil]
    accs = {proving.prompt_accuracy(v, y) for v in (x, arr, arr[..., 0], pil, grey)}
    assert len(accs) == 1


def test_bad_images_are_one_line_errors():
    from PIL import Image

    cases = [
        (torch.rand(2, 3, 64, 64), "size 64x64 is wrong"),
        (np.random.rand(2, 16, 16, 3), "size 16x16 is wrong"),
        ([Image.new("RGBA", (32, 32))], "mode 'RGBA'"),
        ([Image.new("RGB", (28, 28))], "size 28x28 is wrong"),
        (torch.rand(2, 3, 32, 32) * 2 - 1, r"pass \(x \+ 1\) / 2"),
        (torch.rand(2, 4, 32, 32), "C 1 or 3"),
        ([], "no images"),
    ]
    for images, msg in cases:
        with pytest.raises(zoo.ZooError, match=msg) as e:
            proving.prompt_accuracy(images, [0] * max(1, len(images)))
        assert "\n" not in str(e.value)
    with pytest.raises(zoo.ZooError, match="2 images but 3 labels"):
        proving.prompt_accuracy(torch.rand(2, 3, 32, 32), [0, 1, 2])
    with pytest.raises(zoo.ZooError, match="outside 0..9"):
        proving.prompt_accuracy(torch.rand(1, 3, 32, 32), [11])
    with pytest.raises(zoo.ZooError, match="outside the digits vocabulary"):
        proving.prompt_accuracy(torch.rand(1, 3, 32, 32), ["a cat"])
