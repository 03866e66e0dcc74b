"""Per-component views of a built model: the module and static example inputs that export
and cost eval work on (text encoder, UNet/transformer, VAE encoder/decoder)."""
from __future__ import annotations

from typing import Any, Optional

from .errors import ZooError
from .specs import ComponentSpec, ModelSpec

_DTYPES = {"int64": "int64", "int32": "int32", "float32": "float32", "float16": "float16", "long": "int64"}


def source_and_method(comp: ComponentSpec) -> tuple[str, str]:
    if comp.source or comp.method:
        return comp.source or comp.name, comp.method or "forward"
    if comp.name.endswith("_decoder") and comp.name.startswith("vae"):
        return comp.name[: -len("_decoder")], "decode"
    if comp.name.endswith("_encoder") and comp.name.startswith("vae"):
        return comp.name[: -len("_encoder")], "encode"
    return comp.name, "forward"


def example_inputs(comp: ComponentSpec, device: Any = "cpu", seed: int = 0) -> dict[str, Any]:
    """Deterministic inputs of the component's static shapes (ids in [0, 100), timesteps in [0, 1000), unless
    ``comp.input_high`` bounds them)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in comp.inputs.items():
        dt = comp.input_dtypes.get(name, "float32")
        if dt.startswith("int"):
            hi = comp.input_high.get(name) or (1000 if "timestep" in name else 100)
            out[name] = torch.randint(0, hi, shape, generator=g, dtype=getattr(torch, _DTYPES[dt])).to(device)
        elif "timestep" in name:
            out[name] = (torch.rand(shape, generator=g) * 999).to(device)
        else:
            out[name] = torch.randn(shape, generator=g).to(device=device, dtype=getattr(torch, _DTYPES[dt]))
    return out


def component_module(model: Any, comp: ComponentSpec) -> Any:
    """An nn.Module whose ``forward(**inputs)`` returns the component's output tensor."""
    import torch

    src, method = source_and_method(comp)
    if isinstance(model, torch.nn.Module) and not hasattr(model, "components"):
        module = model  # a component id: the model is the component
    else:
        module = getattr(model, src, None)
        if module is None:
            raise ZooError(f"model has no component {src!r} (for {comp.name})")

    class Component(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, **inputs: Any) -> Any:
            import inspect

            if method == "forward":
                fn, args, kw = self.inner, (), dict(inputs)
            else:  # encode(x) / decode(z): the names differ from the export input names
                fn, args, kw = getattr(self.inner, method), tuple(inputs.values()), {}
            if "return_dict" in inspect.signature(getattr(fn, "forward", fn)).parameters:
                kw["return_dict"] = False
            return _first_tensor(fn(*args, **kw))

    wrapped = Component(module)
    wrapped.component_name = comp.name
    return wrapped.eval()


def _first_tensor(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return _first_tensor(out[0])
    if isinstance(getattr(out, "mean", None), torch.Tensor):  # a DiagonalGaussianDistribution
        return out.mean
    for attr in ("latent_dist", "latents", "sample", "last_hidden_state"):
        v = getattr(out, attr, None)
        if v is not None and not callable(v) or isinstance(v, torch.Tensor):
            return _first_tensor(v)
    raise ZooError(f"cannot find a tensor in the output {type(out).__name__}")


def component_modules(model: Any, spec: Optional[ModelSpec] = None, names: Optional[list[str]] = None) -> dict[str, tuple[Any, dict]]:
    """{component name: (module, example inputs)} for every component of ``spec`` (or ``names``)."""
    from .loading import spec_of

    spec = spec or spec_of(model)
    if spec is None:
        raise ZooError("model has no zoo spec: load it with zoo.load or pass spec=")
    comps = [c for c in spec.components if names is None or c.name in names]
    if names:
        missing = set(names) - {c.name for c in comps}
        if missing:
            raise ZooError(f"{spec.id} has no component(s) {sorted(missing)}; it has {[c.name for c in spec.components]}")
    return {c.name: (component_module(model, c), example_inputs(c)) for c in comps}
