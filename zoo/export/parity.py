"""Output agreement between a reference (torch fp32) and an exported model's run."""
from __future__ import annotations

from typing import Any, Optional

from ..errors import ZooError


class ParityError(ZooError):
    """The exported model's output is further from torch than the tolerance allows."""


def compare(reference: Any, output: Any) -> dict[str, float]:
    """max / mean abs error, error relative to the reference's scale, and cosine similarity."""
    import numpy as np

    ref = np.asarray(_numpy(reference), dtype=np.float64).ravel()
    out = np.asarray(_numpy(output), dtype=np.float64).ravel()
    if ref.shape != out.shape:
        raise ParityError(f"output has {out.size} values, the reference {ref.size}")
    diff = np.abs(ref - out)
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    denom = float(np.linalg.norm(ref) * np.linalg.norm(out))
    cosine = float(ref @ out / denom) if denom > 0 else float(np.array_equal(ref, out))
    return {
        "max_abs": float(diff.max(initial=0.0)),
        "mean_abs": float(diff.mean()) if diff.size else 0.0,
        "rel_max": float(diff.max(initial=0.0)) / scale,
        "cosine": cosine,
        "nonfinite": int((~np.isfinite(out)).sum()),
    }


def check(stats: dict[str, float], tolerance: Optional[float], what: str) -> dict[str, Any]:
    """Raise ParityError past ``tolerance`` (on ``rel_max``); return the stats with the verdict."""
    out: dict[str, Any] = {**stats, "tolerance": tolerance}
    if stats["nonfinite"]:
        raise ParityError(f"{what}: {stats['nonfinite']} non-finite values in the output")
    if tolerance is not None and not stats["rel_max"] <= tolerance:
        raise ParityError(
            f"{what}: max abs error {stats['max_abs']:.3g} (relative {stats['rel_max']:.3g}, cosine "
            f"{stats['cosine']:.6f}) is past the tolerance {tolerance:g}; no artifact was written"
        )
    out["passed"] = tolerance is not None
    return out


def _numpy(x: Any) -> Any:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return x
