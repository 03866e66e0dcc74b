"""Calibration inputs for post-training quantisation: real component inputs, captured while
the pipeline generates a few images (forward pre-hooks, or a wrapper for encode/decode
methods), split to the spec's static batch; the spec's example inputs only on request."""
from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

from ..components import example_inputs, source_and_method
from ..errors import ZooError
from ..specs import ComponentSpec, ModelSpec

# Varied captions so that activations span more than one image's statistics.
PROMPTS = [
    "a photo of a red fox in the snow",
    "a city street at night in the rain, neon signs",
    "a bowl of fruit on a wooden table, studio light",
    "an astronaut riding a horse on the moon",
    "a watercolour painting of mountains at sunrise",
    "a close-up portrait of an old fisherman",
    "a modern kitchen interior, wide angle",
    "a cat sleeping on a stack of books",
]


def example_samples(comp: ComponentSpec, n: int) -> list[dict[str, Any]]:
    return [example_inputs(comp, seed=i) for i in range(n)]


def capture(model: Any, spec: ModelSpec, comps: list[ComponentSpec], n_prompts: int = 4, steps: int = 2,
            seed: int = 0, progress: bool = True) -> dict[str, list[dict[str, Any]]]:
    """{component: [input dicts at the spec's shapes]} recorded while ``model`` generates images."""
    import torch

    if not callable(model) or not hasattr(model, "components"):
        raise ZooError(f"{spec.id} is not a pipeline, so its real inputs cannot be captured: "
                       "pass --calibration example to calibrate on the spec's example inputs")
    seen: dict[str, list[dict[str, Any]]] = {c.name: [] for c in comps}
    images = []
    size = spec.resolution
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(n_prompts)]
    with contextlib.ExitStack() as stack:
        for c in comps:
            stack.enter_context(_recording(model, c, seen[c.name]))
        it = _progress(prompts, progress)
        for i, prompt in enumerate(it):
            with torch.no_grad():
                out = model(prompt, num_inference_steps=steps, height=size, width=size, output_type="pt",
                            generator=torch.Generator().manual_seed(seed + i))
            imgs = getattr(out, "images", None)
            if isinstance(imgs, torch.Tensor):
                images.append(imgs * 2 - 1)  # pipeline images are in [0, 1]; VAE encoders take [-1, 1]
    for c in comps:
        if not seen[c.name] and images:
            # An encoder the text-to-image pipeline never calls: its real inputs are real images.
            name, shape = next(iter(c.inputs.items()))
            seen[c.name] = [{name: img[None]} for batch in images for img in batch if list(img[None].shape) == shape]
        if not seen[c.name]:
            raise ZooError(f"running {spec.id} did not reach component {c.name!r}, so no real inputs were captured: "
                           "pass --calibration example to calibrate on the spec's example inputs")
    return seen


@contextlib.contextmanager
def _recording(model: Any, comp: ComponentSpec, sink: list) -> Iterator[None]:
    src, method = source_and_method(comp)
    module = getattr(model, src, None)
    if module is None:
        raise ZooError(f"the pipeline has no {src!r} for component {comp.name}")
    names = list(comp.inputs)
    if method == "forward":
        sig = inspect.signature(module.forward)

        def hook(_mod: Any, args: tuple, kwargs: dict) -> None:
            bound = sig.bind_partial(*args, **kwargs).arguments
            sink.extend(_split(comp, {n: bound[n] for n in names if n in bound}))

        handle = module.register_forward_pre_hook(hook, with_kwargs=True)
        try:
            yield
        finally:
            handle.remove()
    else:  # encode / decode are methods, not forward: wrap the bound method on the instance
        original = getattr(module, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            sink.extend(_split(comp, dict(zip(names, args))))
            return original(*args, **kwargs)

        setattr(module, method, wrapper)
        try:
            yield
        finally:
            delattr(module, method)  # the class's method shows through again


def _split(comp: ComponentSpec, got: dict[str, Any]) -> list[dict[str, Any]]:
    """Cut captured tensors (batch 2 under classifier-free guidance, 0-d timesteps) into
    samples of the spec's static shapes."""
    import torch

    if set(got) != set(comp.inputs):
        return []
    tensors = {n: torch.as_tensor(v).detach().cpu() for n, v in got.items()}
    batch = max(t.shape[0] if t.dim() else 1 for t in tensors.values())
    out = []
    for b in range(batch):
        sample = {}
        for n, t in tensors.items():
            shape = comp.inputs[n]
            v = t if t.dim() == 0 else t[b % t.shape[0]][None] if t.shape[0] > 1 or len(shape) == t.dim() else t
            if v.numel() != _numel(shape):
                return []
            dt = getattr(torch, comp.input_dtypes.get(n, "float32"))
            sample[n] = v.reshape(shape).to(dt).clone()
        out.append(sample)
    return out


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _progress(items: list, enabled: bool) -> Any:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="calibration", unit="prompt")
