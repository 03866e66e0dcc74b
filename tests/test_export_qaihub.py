"""Qualcomm AI Hub orchestration with the qai_hub client replaced at its boundary (the real
one retries ~47 s per call without network): jobs, options, results, failures, dry run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from export_models import tiny_conv, tiny_conv_spec  # noqa: E402

from zoo import HubAuthError, ZooError  # noqa: E402
from zoo.export import ExportRequest, export  # noqa: E402


class Status:
    def __init__(self, ok: bool, message: str = "") -> None:
        self.success, self.failure = ok, not ok
        self.code = "SUCCESS" if ok else "FAILED"
        self.message = message


class Job:
    def __init__(self, kind: str, n: int, ok: bool = True, message: str = "") -> None:
        self.kind, self.job_id, self.status = kind, f"j{kind[0]}{n}", Status(ok, message)
        self.url = f"https://app.aihub.qualcomm.com/jobs/{self.job_id}/"
        self.target = object()

    def wait(self, timeout=None):
        return self.status

    def get_target_model(self):
        return self.target if self.status.success else None

    def download_target_model(self, filename):
        Path(filename).write_bytes(b"QNN context binary")
        return filename

    def download_profile(self):
        return {"execution_summary": {"estimated_inference_time": 12345, "estimated_inference_peak_memory": 50 * 2**20},
                "execution_detail": [{"name": "conv", "compute_unit": "NPU"}, {"name": "silu", "compute_unit": "NPU"}]}

    def download_output_data(self):
        return {"output": [self.output]}


class FakeHub:
    """Stands in for the qai_hub module: records every call, answers like the real client."""

    def __init__(self, compile_ok: bool = True) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.compile_ok = compile_ok
        self.output = None

    class Device:
        def __init__(self, name: str = "", os: str = "", attributes=()) -> None:
            self.name, self.attributes = name, attributes

    def submit_compile_job(self, **kw):
        model = Path(kw["model"])
        kw["model_existed"] = model.exists()
        self.calls.append(("compile", kw))
        return Job("compile", len(self.calls), self.compile_ok, "" if self.compile_ok else "Op NonZero is not supported")

    def submit_inference_job(self, **kw):
        self.calls.append(("inference", kw))
        job = Job("inference", len(self.calls))
        job.output = self.output
        return job


@pytest.fixture(autouse=True)
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


def test_compile_profile_inference_jobs_and_results(tmp_path, results_dir):
    hub = FakeHub()
    model = tiny_conv()
    import torch

    from zoo.components import example_inputs

    comp = tiny_conv_spec().components[0]
    with torch.no_grad():
        hub.output = model(example_inputs(comp)["sample"]).numpy() + 1e-3  # what the phone would return
    req = ExportRequest(target="qnn", device="Samsung Galaxy S25", out_dir=tmp_path / "out", inference=True)
    paths = export(model, req, spec=tiny_conv_spec(), client=hub, progress=False)

    folder = tmp_path / "out" / "tiny-conv-qnn-fp32"
    assert paths == [folder / "unet.bin", folder / "metadata.json"]
    assert (folder / "unet.bin").read_bytes() == b"QNN context binary"
    assert (folder / "onnx" / "unet" / "unet.onnx").exists()  # the uploaded source stays beside it

    kinds = [k for k, _ in hub.calls]
    assert kinds == ["compile", "inference", "inference"]
    compile_kw = hub.calls[0][1]
    assert compile_kw["options"] == "--target_runtime qnn_context_binary"
    assert compile_kw["device"].name == "Samsung Galaxy S25" and compile_kw["model_existed"]
    assert compile_kw["name"] == "tiny-conv-unet"
    profile_kw, infer_kw = hub.calls[1][1], hub.calls[2][1]
    assert profile_kw["profile"] is True and profile_kw["model"] is not None
    assert infer_kw["profile"] is False and list(infer_kw["inputs"]) == ["sample"]
    assert infer_kw["inputs"]["sample"][0].shape == (1, 4, 8, 8)

    meta = json.loads((folder / "metadata.json").read_text())
    r = meta["components"]["unet"]["qai_hub"]
    assert r["compile"]["job_id"] == "jc1" and r["compile"]["status"] == "SUCCESS"
    assert r["profile"]["latency_ms"] == pytest.approx(12.345)
    assert r["profile"]["peak_memory_mb"] == pytest.approx(50.0)
    assert r["profile"]["layers_by_compute_unit"] == {"NPU": 2}
    assert r["inference"]["parity_vs_torch"]["max_abs"] == pytest.approx(1e-3, rel=1e-3)
    assert meta["qai_hub"]["plan"]["jobs"]["unet"]["compile"]["model"] == "onnx/unet/unet.onnx"
    recs = {x["metric"]: x for x in meta["eval_records"]}
    assert recs["latency_ms"]["value"] == pytest.approx(12.345) and recs["latency_ms"]["device"] == "Samsung Galaxy S25"
    saved = json.loads((results_dir / "tiny-conv.json").read_text())
    assert {x["metric"] for x in saved} == {"latency_ms", "peak_memory_mb"}


def test_chipset_runtime_and_quantized_source(tmp_path):
    hub = FakeHub()
    req = ExportRequest(target="qnn", precision="w8a8", chipset="qualcomm-snapdragon-8-elite", qnn_runtime="tflite",
                        profile=False, out_dir=tmp_path, calibration="example", calibration_samples=2)
    paths = export(tiny_conv(), req, spec=tiny_conv_spec(), client=hub, progress=False)
    assert paths[0] == tmp_path / "tiny-conv-qnn-w8a8-qualcomm-snapdragon-8-elite" / "unet.tflite"
    [(kind, kw)] = hub.calls
    assert kind == "compile" and kw["options"] == "--target_runtime tflite"
    assert kw["device"].attributes == "chipset:qualcomm-snapdragon-8-elite" and kw["device"].name == ""
    import onnx

    ops = {n.op_type for n in onnx.load(str(paths[0].parent / "onnx" / "unet" / "unet.onnx")).graph.node}
    assert "QuantizeLinear" in ops  # AI Hub receives the QDQ model


def test_failed_compile_is_a_clear_error_and_leaves_nothing(tmp_path, results_dir):
    hub = FakeHub(compile_ok=False)
    req = ExportRequest(target="qnn", out_dir=tmp_path / "out")
    with pytest.raises(ZooError, match=r"compile job jc1 for unet failed on Samsung Galaxy S25: Op NonZero"):
        export(tiny_conv(), req, spec=tiny_conv_spec(), client=hub, progress=False)
    assert list((tmp_path / "out").iterdir()) == []
    assert [k for k, _ in hub.calls] == ["compile"]  # no profile of a model that does not exist
    assert not results_dir.exists()


def test_no_token_is_a_clear_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "missing.ini"))
    with pytest.raises(HubAuthError, match="qai-hub configure --api_token"):
        export("sd15-tiny", ExportRequest(target="qnn", out_dir=tmp_path))
    assert not any(tmp_path.iterdir())


def test_token_is_read_from_qai_hub_config(tmp_path, monkeypatch):
    from zoo.export.qaihub import has_token

    ini = tmp_path / "client.ini"
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(ini))
    ini.write_text("[api]\napi_url = https://app.aihub.qualcomm.com\napi_token =\n")
    assert not has_token()
    ini.write_text("[api]\napi_url = https://app.aihub.qualcomm.com\napi_token = abc123\n")
    assert has_token()


def test_dry_run_prints_exactly_what_would_be_submitted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "missing.ini"))
    req = ExportRequest(target="qnn", precision="w8a16", components=["unet"], device="Samsung Galaxy S24",
                        out_dir=tmp_path, dry_run=True)
    assert export("sd15-tiny", req) == []
    plan = json.loads(capsys.readouterr().out)
    job = plan["qai_hub"]["jobs"]["unet"]
    assert job["compile"]["options"] == "--target_runtime qnn_context_binary"
    assert job["compile"]["device"] == {"name": "Samsung Galaxy S24"}
    assert job["compile"]["inputs"]["sample"] == {"shape": [1, 4, 8, 8], "dtype": "float32"}
    assert "profile" in job and "inference" not in job
    assert plan["qai_hub"]["token"].startswith("missing")
    assert plan["artifact"].endswith("sd15-tiny-qnn-w8a16")
    assert not any(tmp_path.iterdir())
