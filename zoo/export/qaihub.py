"""Qualcomm AI Hub (qai-hub): compile the exported ONNX for a device or chipset, then profile
and optionally run it there; results go into the export's metadata and eval records.

Everything that talks to AI Hub goes through ``get_client()`` (the qai_hub module by
default), so tests replace that one function; the real client retries for ~47 s per call
without network and must never run in tests.
"""
from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any

from ..errors import HubAuthError, ZooError

CONFIG_ENV = "QAIHUB_CLIENT_INI"  # the variable qai-hub itself reads
TARGET_SUFFIX = {"qnn_context_binary": ".bin", "tflite": ".tflite", "onnx": ".onnx"}


def get_client() -> Any:
    import qai_hub

    return qai_hub


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "~/.qai_hub/client.ini").expanduser()


def has_token() -> bool:
    """True when qai-hub's own config holds an API token (it is read, never printed)."""
    path = config_path()
    if not path.is_file():
        return False
    cfg = configparser.ConfigParser()
    try:
        cfg.read(path)
    except configparser.Error:
        return False
    return bool(cfg.get("api", "api_token", fallback="").strip())


def require_token() -> None:
    if not has_token():
        raise HubAuthError(
            f"no Qualcomm AI Hub API token in {config_path()}: sign up at https://aihub.qualcomm.com, then run "
            "`qai-hub configure --api_token YOUR_TOKEN` (or point QAIHUB_CLIENT_INI at a client.ini); "
            "`zoo export ... --target qnn --dry-run` shows what would be submitted without a token"
        )


def device_fields(request: Any) -> dict[str, str]:
    """The qai_hub.Device fields for the request: a named device, else any device with the chipset."""
    if request.device:
        return {"name": request.device}
    return {"attributes": f"chipset:{request.chipset}"}


def device_label(request: Any) -> str:
    return request.device or f"chipset {request.chipset}"


def compile_options(request: Any) -> str:
    return f"--target_runtime {request.qnn_runtime}"


def profile_options(request: Any) -> str:
    # Profile on the NPU; the QNN context binary has no other unit, the others may fall back.
    return "" if request.qnn_runtime == "qnn_context_binary" else "--compute_unit npu"


def plan(model_id: str, request: Any, components: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Exactly what will be submitted, per component: model file, device, options, shapes.

    ``components`` maps a name to {"model": path of the ONNX to upload, "inputs": {name: {shape, dtype}}}.
    """
    jobs = {}
    for name, c in components.items():
        dev = device_fields(request)
        entry = {
            "compile": {"model": str(c["model"]), "device": dev, "name": f"{model_id}-{name}",
                        "options": compile_options(request), "inputs": c["inputs"]},
        }
        if request.profile:
            entry["profile"] = {"device": dev, "name": f"{model_id}-{name}-profile", "options": profile_options(request)}
        if request.inference:
            entry["inference"] = {"device": dev, "name": f"{model_id}-{name}-inference",
                                  "inputs": {n: v["shape"] for n, v in c["inputs"].items()}}
        jobs[name] = entry
    return {"runtime": request.qnn_runtime, "device": device_label(request), "precision": request.precision, "jobs": jobs}


def run(job_plan: dict[str, Any], folder: Path, inputs: dict[str, dict[str, Any]], references: dict[str, Any],
        client: Any = None, progress: bool = True) -> dict[str, Any]:
    """Submit the planned jobs, wait for them, download the compiled models into ``folder``.

    A failed compile job raises ZooError (the caller's staging then leaves no artifact).
    Returns {component: {compile, profile, inference}} with job ids, urls and results.
    """
    from .parity import compare

    hub = client or get_client()
    results: dict[str, Any] = {}
    suffix = TARGET_SUFFIX[job_plan["runtime"]]
    for name, jobs in _progress(job_plan["jobs"].items(), progress):
        c = jobs["compile"]
        device = hub.Device(**c["device"])
        cjob = hub.submit_compile_job(model=c["model"], device=device, name=c["name"], options=c["options"])
        status = cjob.wait()
        info: dict[str, Any] = {"compile": _job_info(cjob, status)}
        if not status.success:
            raise ZooError(f"AI Hub compile job {cjob.job_id} for {name} failed on {job_plan['device']}: "
                           f"{status.message or status.code}. See {getattr(cjob, 'url', '')}; no artifact was written")
        target = cjob.get_target_model()
        got = cjob.download_target_model(str(Path(folder) / f"{name}{suffix}"))
        if got is None:
            raise ZooError(f"AI Hub compile job {cjob.job_id} for {name} succeeded but returned no model")
        info["compile"]["file"] = Path(got).name
        if "profile" in jobs:
            p = jobs["profile"]
            pjob = hub.submit_inference_job(model=target, device=hub.Device(**p["device"]), name=p["name"],
                                            options=p["options"], profile=True)
            pstatus = pjob.wait()
            info["profile"] = _job_info(pjob, pstatus)
            if pstatus.success:
                info["profile"].update(summarize_profile(pjob.download_profile()))
        if "inference" in jobs:
            import numpy as np

            i = jobs["inference"]
            data = {n: [np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)] for n, v in inputs[name].items()}
            ijob = hub.submit_inference_job(model=target, device=hub.Device(**i["device"]), name=i["name"],
                                            inputs=data, profile=False)
            istatus = ijob.wait()
            info["inference"] = _job_info(ijob, istatus)
            if istatus.success:
                out = ijob.download_output_data() or {}
                first = next(iter(out.values()), None)
                if first is not None and name in references:
                    info["inference"]["parity_vs_torch"] = compare(references[name], np.asarray(first[0]))
        results[name] = info
    return results


def summarize_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Latency (ms) and peak memory (MB) from AI Hub's profile dict (times in us, memory in bytes)."""
    s = (profile or {}).get("execution_summary", {})
    out: dict[str, Any] = {}
    if isinstance(s.get("estimated_inference_time"), (int, float)):
        out["latency_ms"] = s["estimated_inference_time"] / 1000.0
    if isinstance(s.get("estimated_inference_peak_memory"), (int, float)):
        out["peak_memory_mb"] = s["estimated_inference_peak_memory"] / 2**20
    units: dict[str, int] = {}
    for layer in (profile or {}).get("execution_detail", []):
        u = layer.get("compute_unit")
        if u:
            units[u] = units.get(u, 0) + 1
    if units:
        out["layers_by_compute_unit"] = units
    return out


def eval_records(model_id: str, request: Any, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Cost records (latency, peak memory per component) for the model card's performance table."""
    from ..evaluate.records import make_record

    recs = []
    for comp, info in results.items():
        prof = info.get("profile") or {}
        settings = {"precision": request.precision, "runtime": request.qnn_runtime, "job": prof.get("job_id")}
        for metric, unit in (("latency_ms", "ms"), ("peak_memory_mb", "MB")):
            if metric in prof:
                recs.append(make_record(model_id, "cost", metric, prof[metric], unit=unit, component=comp,
                                        backend=f"qnn ({request.qnn_runtime}, Qualcomm AI Hub)",
                                        device=device_label(request), dataset="synthetic-inputs", settings=settings))
    return recs


def _job_info(job: Any, status: Any) -> dict[str, Any]:
    return {"job_id": getattr(job, "job_id", None), "url": getattr(job, "url", None),
            "status": getattr(status, "code", str(status)), "message": getattr(status, "message", None)}


def _progress(items: Any, enabled: bool) -> Any:
    items = list(items)
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="AI Hub jobs", unit="component")
