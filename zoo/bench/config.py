"""What `zoo bench` measures and how (one BenchConfig per run)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional


@dataclass
class BenchConfig:
    pattern: str = "*"
    quick: bool = False
    latency: bool = True
    latency_res: Optional[int] = None  # output resolution (pixels) to time at; None: full, or auto in quick
    include_tiny: bool = False
    budget_gmacs: Optional[float] = None  # quick: time each component at the largest size under this
    max_params_m: Optional[float] = None  # do not materialise components larger than this
    warmup: Optional[int] = None
    repeats: Optional[int] = None
    threads: Optional[int] = None  # torch CPU threads while timing; pinned and recorded (default: torch's count)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.budget_gmacs is None:
            self.budget_gmacs = 10.0 if self.quick else math.inf
        if self.max_params_m is None:
            self.max_params_m = 1000.0 if self.quick else _ram_params_m()
        if self.warmup is None:
            self.warmup = 1 if self.quick else 2
        if self.repeats is None:
            self.repeats = 3 if self.quick else 5


def _ram_params_m() -> float:
    """Largest component (M float32 params) to materialise: a third of the available memory."""
    try:
        import psutil

        return psutil.virtual_memory().available / 3 / 4 / 1e6
    except ImportError:
        return 2000.0
