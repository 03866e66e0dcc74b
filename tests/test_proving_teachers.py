"""The digits teachers (mini-sd, mini-dit, mini-pixart): shipped weights load offline and
reproduce their quality on a subset; training is deterministic; the digits suite and the
training options fail cleanly on bad input."""
import pytest
import torch

import zoo
from zoo import proving
from zoo.evaluate import evaluate

LABELS = [c for _ in range(2) for c in range(10)]  # 20 samples, two per digit


@pytest.mark.parametrize("model_id", ["mini-sd", "mini-dit"])
def test_shipped_teacher_draws_the_digit_asked_for(model_id):
    pipe = zoo.load(model_id)  # offline, empty caches (conftest): the weights ship in the package
    images = proving.sample_digits(pipe, LABELS, steps=10, seed=0, progress=False)
    assert images.shape == (20, 32, 32, 3)
    assert proving.prompt_accuracy(images, LABELS) >= 0.8
    random = zoo.load(model_id, pretrained=False)
    assert proving.prompt_accuracy(proving.sample_digits(random, LABELS, steps=4, progress=False), LABELS) <= 0.4


def test_mini_sd_answers_a_plain_prompt_and_mini_dit_a_class_label():
    sd = zoo.load("mini-sd")
    sd.set_progress_bar_config(disable=True)
    g = torch.Generator().manual_seed(0)
    img = sd(["a handwritten digit 7"] * 4, num_inference_steps=10, generator=g).images
    assert img[0].size == (32, 32) and proving.prompt_accuracy(img, [7] * 4) >= 0.75
    dit = zoo.load("mini-dit")
    dit.set_progress_bar_config(disable=True)
    out = dit(class_labels=[3, 3, 3, 3], num_inference_steps=10, generator=torch.Generator().manual_seed(0),
              output_type="np").images
    assert proving.prompt_accuracy(out, [3] * 4) >= 0.75


def test_mini_pixart_loads_and_draws():
    pipe = zoo.load("mini-pixart")
    images = proving.sample_digits(pipe, list(range(10)), steps=10, seed=0, progress=False)
    assert proving.prompt_accuracy(images, list(range(10))) >= 0.6


def test_digits_suite_records(tmp_path):
    recs = evaluate("mini-dit-tiny", "digits", pretrained=False, samples_per_class=1, steps=2,
                                 progress=False, out=tmp_path / "r.json")
    by = {r["metric"]: r for r in recs}
    assert set(by) == {"prompt_accuracy", "digits_fd", "digits_fd_real_floor"}
    assert 0 <= by["prompt_accuracy"]["value"] <= 100 and by["prompt_accuracy"]["unit"] == "%"
    assert by["digits_fd"]["settings"]["conditioning"] == "class_labels" and (tmp_path / "r.json").exists()


def test_digits_suite_refuses_a_model_that_draws_no_digits():
    with pytest.raises(zoo.ZooError, match="digits suite evaluates digits generators"):
        evaluate("sd-x4-upscaler-tiny", "digits", pretrained=False)


def _train(tmp_path, name, model_id="mini-sd-tiny"):
    from zoo.cli import main

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"steps: 2\nvae_steps: 2\nbatch_size: 4\nprogress: false\nwork_dir: {tmp_path / name / 'work'}\n")
    assert main(["train", model_id, "--config", str(cfg), "--out", str(tmp_path / name / "out")]) == 0
    return tmp_path / name / "out"


@pytest.mark.parametrize("model_id", ["mini-sd-tiny", "mini-dit-tiny", "mini-pixart-tiny"])
def test_training_is_deterministic(tmp_path, model_id):
    from safetensors.torch import load_file

    a, b = _train(tmp_path, "a", model_id), _train(tmp_path, "b", model_id)
    files = sorted(p.relative_to(a) for p in a.rglob("*.safetensors"))
    assert len(files) >= 2
    for rel in files:
        sa, sb = load_file(str(a / rel)), load_file(str(b / rel))
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), rel
    # the trained folder loads as the model
    pipe = zoo.load(model_id, weights=a)
    assert pipe.vae.config.scaling_factor != 1.0


@pytest.mark.parametrize("yaml, extra, match", [
    ("steps: 0\n", [], "steps"),
    ("bogus: 1\n", [], "bogus"),
    ("", ["--data", "somewhere"], "does not apply to the digits teachers"),
])
def test_training_options_fail_in_one_line(tmp_path, capsys, yaml, extra, match):
    from zoo.cli import main

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml or "{}\n")
    assert main(["train", "mini-sd-tiny", "--config", str(cfg), "--out", str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_plugin_contract():
    from zoo.testing import check_plugin

    ids = {s.id for s in check_plugin("proving", conformance=False)}
    assert {"mini-sd", "mini-dit", "mini-pixart", "mini-sd-tiny", "mini-dit-tiny", "mini-pixart-tiny"} <= ids
