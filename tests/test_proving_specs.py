"""The proving ground's export/cost components match each variant's real widths (the -tiny ones too), their
example ids stay inside the miniature vocabularies, and `zoo eval --suite edits --count` is a checked flag."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.components import component_modules

IDS = ["mini-sd", "mini-sd-tiny", "mini-pixart", "mini-pixart-tiny", "mini-dit-tiny", "mini-edit", "mini-edit-tiny"]


@pytest.mark.parametrize("model_id", IDS)
def test_every_component_runs_on_its_example_inputs(model_id):
    """What `zoo export ID --check` and `zoo bench` feed each component: declared shapes must fit the built
    model (encoder_hidden_states width) and example token ids must index the tiny vocabulary."""
    spec = zoo.get_spec(model_id)
    pipe = zoo.build(model_id)  # random weights: shapes only
    with torch.no_grad():
        for name, (module, inputs) in component_modules(pipe, spec).items():
            out = module(**inputs)
            assert torch.isfinite(out).all(), (model_id, name)
    text = [c for c in spec.components if c.name == "text_encoder"]
    for c in text:
        assert c.input_high["input_ids"] == pipe.text_encoder.config.vocab_size


def _eval(capsys, *args):
    from zoo.cli import main

    rc = main(["eval", "mini-edit-tiny", "--suite", "edits", "--random-init", "--no-save", *args])
    return rc, capsys.readouterr()


@pytest.mark.parametrize("bad", ["0", "-2", "1.5", "many"])
def test_edits_count_flag_rejects_bad_values_in_one_line(capsys, bad):
    with pytest.raises(SystemExit) as exc:
        _eval(capsys, "--count", bad)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--count" in err and err.strip().count("\n") <= 1


def test_edits_count_flag_sets_the_number_of_held_out_examples(capsys, tmp_path):
    from zoo.cli import main

    out = tmp_path / "r.json"
    assert main(["eval", "mini-edit-tiny", "--suite", "edits", "--random-init", "--count", "2", "--steps", "1",
                 "--out", str(out)]) == 0
    recs = json.loads(out.read_text())
    recs = recs if isinstance(recs, list) else recs.get("records", recs)
    per_op = {r["settings"]["per_op"] for r in recs}
    assert per_op == {2}


def test_edits_suite_count_is_checked_before_running():
    from zoo.evaluate import evaluate

    with pytest.raises(zoo.ZooError, match="count must be a positive integer"):
        evaluate("mini-edit-tiny", "edits", pretrained=False, count=0, progress=False, save=False)
