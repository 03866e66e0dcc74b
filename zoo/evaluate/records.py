"""Evaluation records: one measured number each, with what, where and how it was measured.

Records are plain dicts (validated by ``Record``) so plugins' eval hooks can return them
without importing anything. They are saved as ``{results_dir}/{model_id}.json`` (a list), read
back with ``load_records(model_id)``, and turned into a model card's model-index entries
(``records_to_model_index``) and performance table (``records_table_markdown``).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from .. import atomic
from ..errors import ZooError

ENV_RESULTS = "ZOO_RESULTS_DIR"


class Record(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_id: str
    suite: str  # 'cost', 'sr', 'generation', or a plugin's own
    metric: str  # 'params', 'macs', 'latency_ms', 'psnr_y', 'ssim_y', 'fid', 'clip_score', ...
    value: float
    unit: str = ""
    dataset: str = ""  # 'synthetic-inputs' for cost; the image set or prompt set otherwise
    component: Optional[str] = None  # 'unet', 'vae_decoder', ... (None: the whole model)
    backend: Optional[str] = None  # 'meta', 'torch', 'onnxruntime', 'bicubic', ...
    device: str = ""  # the machine, in words
    settings: dict[str, Any] = Field(default_factory=dict)  # resolution, steps, repeats, ...
    command: str = ""
    date: str = ""
    task: Optional[str] = None  # the Hub pipeline tag of the model


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def current_command() -> str:
    argv0 = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if argv0 in {"zoo", "zoo.exe"}:
        return " ".join(["zoo", *sys.argv[1:]])
    return " ".join(["python", *sys.argv]) if argv0 else "python"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(device: Any = "cpu") -> str:
    """E.g. 'CPU: AMD EPYC 7B13 (2 threads), torch 2.13.0' or 'CUDA: NVIDIA H100 80GB HBM3, torch 2.13.0'."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    if dev.type == "meta":
        return f"meta device (shapes only), torch {torch.__version__}"
    return f"CPU: {_cpu_name()} ({torch.get_num_threads()} threads), torch {torch.__version__}"


def make_record(model_id: str, suite: str, metric: str, value: float, **fields: Any) -> dict[str, Any]:
    """A validated record dict, dated now, with the current command unless given."""
    fields.setdefault("date", now())
    fields.setdefault("command", current_command())
    return Record(model_id=model_id, suite=suite, metric=metric, value=float(value), **fields).model_dump()


def validate(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        try:
            out.append(Record(**r).model_dump())
        except Exception as exc:
            raise ZooError(f"not a valid evaluation record: {r!r} ({exc})") from exc
    return out


# -- storage ------------------------------------------------------------------------------------
APP_NAME = "ondevice-diffusion-zoo"


def user_results_dir() -> Path:
    """The platform's per-user data folder for the zoo's records (as platformdirs' user_data_dir)."""
    home = Path.home()
    if sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_NAME / "results"


def project_results_dir() -> Optional[Path]:
    """The source checkout's results/ (the records the shipped cards render), or None when installed."""
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists() and (repo / "zoo").is_dir():
        return repo / "results"
    return None


def results_dir(path: Union[str, Path, None] = None) -> Path:
    """Where records are written and read: ``path``, else $ZOO_RESULTS_DIR, else the user data
    folder. Never the installed package: the repo's own results/ is written only when asked
    (``zoo eval ... --out results/``), so following the README cannot change the shipped cards."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(ENV_RESULTS):
        return Path(os.environ[ENV_RESULTS]).expanduser()
    return user_results_dir()


def _key(r: dict[str, Any]) -> str:
    return json.dumps([r["model_id"], r["suite"], r["metric"], r.get("dataset"), r.get("component"),
                       r.get("backend"), r.get("device"), r.get("settings", {})], sort_keys=True, default=str)


def save_records(records: Iterable[dict[str, Any]], path: Union[str, Path, None] = None) -> list[Path]:
    """Merge records into ``{results_dir}/{model_id}.json`` (a newer record replaces the same
    measurement), or into the file ``path`` if it ends in .json. Returns the files written."""
    records = validate(records)
    target = Path(path).expanduser() if path is not None and str(path).endswith(".json") else None
    groups: dict[Path, list[dict]] = {}
    for r in records:
        f = target or results_dir(path) / f"{r['model_id']}.json"
        groups.setdefault(f, []).append(r)
    for f, new in groups.items():
        old = _read(f) if f.exists() else []
        merged = {_key(r): r for r in old}
        merged.update({_key(r): r for r in new})
        f.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(f, json.dumps(list(merged.values()), indent=2, default=str) + "\n")  # never half a file
    return list(groups)


def _read(f: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(f.read_text())
    except json.JSONDecodeError as exc:
        raise ZooError(f"{f} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ZooError(f"{f} should hold a list of evaluation records")
    return validate(data)


def load_records(model_id: Optional[str] = None, path: Union[str, Path, None] = None) -> list[dict[str, Any]]:
    """Records of ``model_id`` (all models if None) from the results folder or a .json file."""
    if path is not None and str(path).endswith(".json"):
        recs = _read(Path(path).expanduser())
    else:
        d = results_dir(path)
        files = [d / f"{model_id}.json"] if model_id else sorted(d.glob("*.json"))
        recs = [r for f in files if f.exists() for r in _read(f)]
    return [r for r in recs if model_id is None or r["model_id"] == model_id]


# -- presentation -------------------------------------------------------------------------------
_METRIC_NAMES = {
    "params": "Parameters", "macs": "MACs", "macs_no_attention": "MACs without attention",
    "latency_ms": "Latency", "peak_memory_mb": "Peak memory", "psnr_y": "PSNR (Y)", "ssim_y": "SSIM (Y)",
    "fid": "FID", "clip_score": "CLIP score", "ta_psnr": "Teacher-aligned PSNR", "ta_ssim": "Teacher-aligned SSIM",
}


def metric_label(r: dict[str, Any]) -> str:
    name = _METRIC_NAMES.get(r["metric"], r["metric"])
    return f"{name} ({r['component']})" if r.get("component") else name


def format_value(v: float, unit: str = "") -> str:
    if math.isinf(v):
        return "inf"
    if math.isnan(v):
        return "nan"
    if unit == "count":
        return f"{v / 1e9:.2f}G" if abs(v) >= 1e9 else f"{v / 1e6:.2f}M" if abs(v) >= 1e6 else f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    return f"{v:.4g}" if abs(v) < 1 else f"{v:.2f}"


def records_table_markdown(records: Iterable[dict[str, Any]]) -> str:
    """A markdown table of the records, one row each (model, metric, value, dataset, backend, device)."""
    recs = validate(records)
    if not recs:
        return "_No evaluation results yet._\n"
    multi = len({r["model_id"] for r in recs}) > 1
    head = (["Model"] if multi else []) + ["Suite", "Metric", "Value", "Dataset", "Backend", "Settings", "Device", "Date"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {"cost": 0, "sr": 1, "generation": 2}
    for r in sorted(recs, key=lambda r: (r["model_id"], order.get(r["suite"], 9), r["suite"], r.get("component") or "", r["metric"], r.get("dataset") or "")):
        unit = r.get("unit") or ""
        shown_unit = "" if unit in {"count", ""} else f" {unit}"
        settings = ", ".join(f"{k}={v}" for k, v in sorted((r.get("settings") or {}).items()))
        row = ([r["model_id"]] if multi else []) + [
            r["suite"], metric_label(r), format_value(r["value"], unit) + shown_unit, r.get("dataset") or "",
            r.get("backend") or "", settings, r.get("device") or "", (r.get("date") or "")[:10],
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
    return "\n".join(lines) + "\n"


def records_to_model_index(records: Iterable[dict[str, Any]], task_type: Optional[str] = None) -> list[Any]:
    """huggingface_hub EvalResult entries for a card's model-index (one per record)."""
    from huggingface_hub import EvalResult

    out = []
    for r in validate(records):
        ds = r.get("dataset") or "none"
        args = {k: v for k, v in {"component": r.get("component"), "backend": r.get("backend"),
                                  "device": r.get("device"), **(r.get("settings") or {})}.items() if v is not None}
        out.append(EvalResult(
            task_type=task_type or r.get("task") or "text-to-image",
            dataset_type=ds, dataset_name=ds,
            metric_type=r["metric"], metric_name=metric_label(r) + (f" [{r['unit']}]" if r.get("unit") and r["unit"] != "count" else ""),
            metric_value=r["value"], metric_config=r.get("component"),
            metric_args={k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in args.items()} or None,
        ))
    return out
