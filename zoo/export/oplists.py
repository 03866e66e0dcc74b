"""The maintained op lists the NPU-readiness lint checks against (data/*.txt, each with its
source in its header). ``python -m zoo.export.oplists coreml`` regenerates the Core ML list
from the installed coremltools."""
from __future__ import annotations

import datetime
import functools
import sys
from pathlib import Path

DATA = Path(__file__).with_name("data")
FILES = {"qnn": "qnn_htp_onnx_ops.txt", "coreml": "coreml_torch_ops.txt"}


@functools.lru_cache(maxsize=None)
def load(target: str) -> frozenset[str]:
    lines = (DATA / FILES[target]).read_text().splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


def coreml_supports(aten_name: str, overload: str = "") -> bool:
    """Does coremltools' torch frontend convert ``aten::name[.overload]``? (its own lookup rule)"""
    ops = load("coreml")
    base = aten_name.split("::")[-1]
    return f"{base}.{overload}" in ops or base in ops or base.rstrip("_") in ops  # add_ -> add


def regenerate_coreml() -> Path:
    import coremltools
    from coremltools.converters.mil.frontend.torch.torch_op_registry import _TORCH_OPS_REGISTRY

    names = sorted(_TORCH_OPS_REGISTRY.name_to_func_mapping)
    head = (f"# Core ML: torch ops the coremltools {coremltools.__version__} PyTorch frontend converts.\n"
            "# Source: coremltools.converters.mil.frontend.torch.torch_op_registry._TORCH_OPS_REGISTRY\n"
            f"# (coremltools {coremltools.__version__}), dumped {datetime.date.today()}. One name per line, as\n"
            "# coremltools looks them up: the ATen name without 'aten::', optionally with its overload.\n"
            "# Regenerate with: python -m zoo.export.oplists coreml\n")
    path = DATA / FILES["coreml"]
    path.write_text(head + "\n".join(names) + "\n")
    load.cache_clear()
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["coreml"]:
        sys.exit("usage: python -m zoo.export.oplists coreml")
    print(regenerate_coreml())
