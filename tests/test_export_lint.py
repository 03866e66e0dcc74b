"""NPU-readiness lint: flags a data-dependent shape, Python control flow on tensor values, an
op outside the QNN / Core ML lists, rank-5 tensors; passes a clean conv block."""
from __future__ import annotations

import pytest
import torch

from zoo import ComponentSpec, ModelSpec
from zoo.export.lint import lint, lint_module, lint_onnx
from zoo.export.oplists import coreml_supports, load


class Clean(torch.nn.Module):
    """Conv -> GroupNorm -> SiLU -> self-attention over pixels: the ops a UNet block uses."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.norm = torch.nn.GroupNorm(2, 8)
        self.qkv = torch.nn.Linear(8, 24)

    def forward(self, sample):
        h = torch.nn.functional.silu(self.norm(self.conv(sample)))
        b, c, hh, ww = h.shape
        t = h.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        a = torch.softmax(q @ k.transpose(1, 2) / c**0.5, dim=-1) @ v
        return h + a.transpose(1, 2).reshape(b, c, hh, ww)


class Masked(torch.nn.Module):
    def forward(self, sample):
        return (sample[sample > 0] * 2).sum() + sample.mean()  # boolean mask: size depends on the data


class Branchy(torch.nn.Module):
    def forward(self, sample):
        if sample.sum() > 0:  # Python branch on a tensor value
            return sample * 2
        return sample - 1


class Det(torch.nn.Module):
    def forward(self, sample):
        return torch.linalg.det(sample.reshape(4, 2, 2))


class Rank5(torch.nn.Module):
    def forward(self, sample):
        return (sample.reshape(1, 2, 2, 2, 2) * 3).reshape(1, 16)


X4 = {"sample": torch.randn(1, 4, 4, 4)}
X16 = {"sample": torch.randn(1, 16)}


def test_clean_block_passes_both_targets():
    assert lint_module("block", Clean().eval(), X4) == []


def test_data_dependent_shape_is_flagged():
    issues = lint_module("masked", Masked(), X16)
    rules = {(i.target, i.rule) for i in issues}
    assert ("all", "dynamic-shape") in rules
    assert ("qnn", "unsupported-op") in rules  # NonZero in the ONNX graph
    assert all(i.hint for i in issues)


def test_python_branch_on_tensor_value_is_flagged():
    [issue] = lint_module("branchy", Branchy(), X16)
    assert issue.rule == "dynamic-control-flow" and issue.severity == "error"


def test_unsupported_op_is_flagged_for_both_targets():
    issues = lint_module("det", Det(), X16)
    msgs = {(i.target, i.rule): i.message for i in issues}
    assert "linalg_det" in msgs[("coreml", "unsupported-op")]
    assert "Det" in msgs[("qnn", "unsupported-op")]


def test_rank5_is_an_error_for_qnn_and_a_warning_for_coreml():
    issues = [i for i in lint_module("r5", Rank5(), X16) if i.rule == "rank"]
    assert {(i.target, i.severity) for i in issues} == {("qnn", "error"), ("coreml", "warning")}


def test_spec_with_unknown_size_and_report_format():
    spec = ModelSpec(id="dyn-model", family="dyn", summary="x", task="component",
                     components=[ComponentSpec(name="unet", class_name="X", inputs={"sample": [1, 4, -1, 64]})])
    report = lint(Clean(), spec=spec, targets=["qnn"])
    assert not report.ok and report.issues[0].rule == "dynamic-shape"
    text = report.format()
    assert "FAIL  unet" in text and "fix:" in text and "not ready" in text


def test_onnx_lint_flags_symbolic_input_and_int64_output(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.INT64, ["batch"])
    g = helper.make_graph([helper.make_node("ArgMax", ["x"], ["y"], axis=1, keepdims=0)], "g", [x], [y])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g), str(path))
    rules = {i.rule for i in lint_onnx(path)}
    assert rules == {"dynamic-shape", "int64"}


def test_op_lists_are_data_with_sources():
    assert {"Conv", "MatMul", "Softmax", "InstanceNormalization"} <= load("qnn") and "NonZero" not in load("qnn")
    assert coreml_supports("aten::convolution", "default") and not coreml_supports("aten::linalg_det", "default")


@pytest.mark.slow
def test_sd15_tiny_is_npu_ready():
    # The text encoder too, as export prepares it (zoo.export.npu_ready): int32 ids, eager
    # attention (no IsNaN from the SDPA boolean mask), aten::alias dropped.
    report = lint("sd15-tiny")
    assert report.ok and report.issues == [], report.format()
