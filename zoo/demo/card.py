"""The panel beside the output: the model card's summary and its cost figures.

Figures come from three places, each labelled: the paper (spec.reported), the zoo's own
evaluation records (zoo.evaluate.records, when that module and a record exist) and the run
the user just made (measured latency of this run on this machine).
"""
from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, Optional

from ..registry import get_spec


def _records(model_id: str) -> list[dict]:
    """Evaluation records for the model; [] when the evaluate room or its records are absent."""
    try:
        from ..evaluate.records import load_records  # written by the evaluate room; may not exist
    except ImportError:
        return []
    try:
        recs = load_records(model_id) or []
    except Exception:  # a broken record file must not take the demo down
        return []
    out = []
    for r in recs if isinstance(recs, (list, tuple)) else [recs]:
        if hasattr(r, "model_dump"):
            r = r.model_dump()
        elif is_dataclass(r):
            r = asdict(r)
        if isinstance(r, dict):
            out.append(r)
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v
    return out


def card_markdown(model_id: str, measured: Optional[dict] = None) -> str:
    """Markdown for the card panel; ``measured`` holds this run's timings (seconds) when there was one."""
    spec = get_spec(model_id)
    lines = [f"### {spec.id}", spec.summary]
    if spec.paper:
        link = f"[{spec.paper.title}]({spec.paper.url})" if spec.paper.url else spec.paper.title
        venue = " ".join(str(x) for x in (spec.paper.venue, spec.paper.year) if x)
        lines.append(f"Paper: {link}" + (f" ({venue})" if venue else ""))
    lines.append(f"Task: {spec.task} · default size {spec.resolution} px · license {spec.license}"
                 + (f" · weights [{spec.hub_repo}](https://huggingface.co/{spec.hub_repo})" if spec.hub_repo else ""))
    rows = []
    for k, v in spec.reported.items():
        rows.append(("paper", k, _fmt(v)))
    for rec in _records(model_id):
        where = " ".join(str(rec[k]) for k in ("backend", "device", "resolution") if rec.get(k) is not None)
        for k, v in _flat(rec).items():
            if k in ("resolution", "seed", "steps"):
                continue
            rows.append((f"zoo eval{' (' + where + ')' if where else ''}", k, _fmt(v)))
    if measured:
        for k, v in measured.items():
            rows.append(("this run", k, f"{v:.2f} s"))
    if rows:
        lines.append("| source | figure | value |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows))
    else:
        lines.append("_No cost figures recorded yet: `zoo eval " + spec.id + "` measures params, MACs and latency._")
    return "\n\n".join(lines)
