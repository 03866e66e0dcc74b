"""Evaluation: cost (params, MACs with attention, latency, peak memory), super-resolution
quality on real photos, generation quality (FID / CLIP score, teacher-aligned metrics), and
the records that cards and `zoo bench` read. Heavy imports happen inside the functions."""
from __future__ import annotations

from typing import Any


def evaluate(*args: Any, **kwargs: Any) -> list[dict]:
    from .api import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


evaluate.__doc__ = "See zoo.evaluate.api.evaluate."

from .records import (  # noqa: E402
    Record,
    load_records,
    make_record,
    records_table_markdown,
    records_to_model_index,
    results_dir,
    save_records,
)

__all__ = ["evaluate", "Record", "make_record", "load_records", "save_records", "results_dir",
           "records_table_markdown", "records_to_model_index"]
