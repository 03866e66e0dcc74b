"""Training checkpoints as single safetensors files: model(s) + optimiser + step + RNG state.

Written atomically (temp file + rename) so a job killed while saving leaves the previous
checkpoint intact; read without unpickling anything.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from .. import atomic
from ..errors import CorruptWeightsError
from .tree import flatten, unflatten

CHECKPOINT = "checkpoint.safetensors"


def _cpu_copy(t):
    # clone: safetensors refuses tensors that share storage (tied weights, views)
    return t.detach().to("cpu").contiguous().clone()


def rng_state() -> dict[str, Any]:
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def save_tensors(path: Path, obj: Any) -> None:
    """Store a nested value (tensors, numbers, strings, containers) atomically."""
    from safetensors.torch import save_file

    structure, tensors = flatten(obj)
    path = Path(path)
    with atomic.write_file(path) as tmp:  # a kill leaves the previous checkpoint, never half of one
        save_file({str(i): _cpu_copy(t) for i, t in enumerate(tensors)}, str(tmp), metadata={"structure": structure})


def load_tensors(path: Path, device: Any = "cpu") -> Any:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            meta = f.metadata() or {}
            if "structure" not in meta:
                raise CorruptWeightsError(f"{path} is not a zoo training file (no 'structure' metadata)")
            tensors = [f.get_tensor(str(i)) for i in range(len(f.keys()))]
    except CorruptWeightsError:
        raise
    except Exception as exc:  # truncated or foreign file: say which
        raise CorruptWeightsError(f"cannot read {path}: {exc}") from exc
    return unflatten(meta["structure"], tensors)


def save_checkpoint(path: Path, modules: Mapping[str, Any], optimizer: Any, step: int,
                    extra: Optional[Mapping[str, Any]] = None) -> None:
    save_tensors(path, {
        "modules": {name: dict(m.state_dict()) for name, m in modules.items()},
        "optimizer": optimizer.state_dict(),
        "step": int(step),
        "rng": rng_state(),
        "extra": dict(extra or {}),
    })


def load_checkpoint(path: Path, modules: Mapping[str, Any], optimizer: Any) -> dict[str, Any]:
    """Restore modules, optimiser and RNG in place; return ``{"step": ..., "extra": ...}``."""
    state = load_tensors(path)
    for name, m in modules.items():
        m.load_state_dict(state["modules"][name])
    optimizer.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"])
    return {"step": state["step"], "extra": state["extra"]}


def save_weights(path: Path, module: Any, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Plain safetensors state dict (what a finished block or model is shipped as)."""
    from safetensors.torch import save_file

    path = Path(path)
    with atomic.write_file(path) as tmp:
        save_file({k: _cpu_copy(v) for k, v in module.state_dict().items()}, str(tmp), metadata=dict(metadata or {}))


def load_weights(path: Path, module: Any, strict: bool = True) -> Any:
    from safetensors.torch import load_file

    try:
        sd = load_file(str(path))
    except Exception as exc:
        raise CorruptWeightsError(f"cannot read {path}: {exc}") from exc
    module.load_state_dict(sd, strict=strict)
    return module
