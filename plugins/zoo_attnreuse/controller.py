"""Apply / remove attention reuse on a pipeline or a bare denoiser, and follow the sampler.

The step counter counts denoiser calls: a forward pre-hook on the UNet / transformer. A new
run starts when the pipeline's scheduler holds a new ``timesteps`` tensor (every pipeline
call runs ``set_timesteps``), and the run has ``len(timesteps)`` denoiser calls, less those
before the first call's timestep (image-to-image pipelines start part-way). Pipelines
that batch classifier-free guidance (all diffusers text-to-image pipelines) call the denoiser
once per step; a pipeline calling it more often than that is refused, not silently mis-counted.
A bare denoiser (no pipeline) starts runs with ``controller.begin(T)``.
"""
from __future__ import annotations

from typing import Any, Optional

from zoo import ZooError

from .processor import CACHE, COMPUTE, REUSE, ReuseAttnProcessor
from .schedules import ReuseConfig, parse_config, reuse_steps

ATTR = "_zoo_attention_reuse"
DENOISERS = ("unet", "transformer")


def denoiser_of(model: Any) -> Any:
    """The UNet / transformer of a pipeline (or the module itself)."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    for name in DENOISERS:
        mod = getattr(model, name, None)
        if isinstance(mod, torch.nn.Module):
            return mod
    raise ZooError(f"{type(model).__name__} has no UNet or transformer (looked for {', '.join(DENOISERS)})")


def _supported_processors() -> tuple:
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    return (AttnProcessor2_0, AttnProcessor)


class Controller:
    """Per-run state: the step index, every layer's reuse steps, and the cached maps.

    ``cfg`` may be replaced between runs (schedules, caching_output: read when a run begins / per
    call); which layers are wrapped (the self/cross toggle) is fixed when the technique is applied."""

    def __init__(self, denoiser: Any, cfg: ReuseConfig, pipe: Any = None, model_id: str = ""):
        from diffusers.models.attention_processor import Attention

        self.denoiser, self.cfg, self.pipe, self.model_id = denoiser, cfg, pipe, model_id
        self.originals: dict[str, tuple[Any, Any]] = {}  # name -> (Attention module, original processor)
        self.skipped: list[str] = []  # attention layers left alone (other processor types)
        for name, mod in denoiser.named_modules():
            if not isinstance(mod, Attention):
                continue
            kind = "cross" if mod.is_cross_attention else "self"
            if cfg.attention not in ("both", kind):
                continue
            if not isinstance(mod.processor, _supported_processors()):
                self.skipped.append(name)
                continue
            self.originals[name] = (mod, mod.processor)
        if not self.originals:
            raise ZooError(f"{type(denoiser).__name__} has no {cfg.attention}-attention layer this technique supports "
                           "(diffusers Attention with AttnProcessor2_0 / AttnProcessor)")
        self.step, self.total, self._run_key = -1, None, None
        self.masks: dict[str, frozenset] = {}
        self.cache: dict[str, Any] = {}
        self.peak_bytes = 0
        self.trace: list[dict[str, str]] = []  # per denoiser call of the last run: layer -> mode
        for name, (mod, orig) in self.originals.items():
            mod.set_processor(ReuseAttnProcessor(self, name, orig))
        self._hooks = [denoiser.register_forward_pre_hook(self._before_call, with_kwargs=True),
                       denoiser.register_forward_hook(self._after_call)]

    # -- following the sampler ---------------------------------------------------------------
    def sampler(self) -> str:
        sched = getattr(self.pipe, "scheduler", None)
        return type(sched).__name__ if sched is not None else "none"

    def begin(self, total: int, key: Any = None) -> None:
        """Start a run of ``total`` denoiser calls: resolve every layer's reuse steps, drop old maps."""
        resolved: dict[int, frozenset] = {}
        masks = {}
        for name in self.originals:
            sched = self.cfg.for_layer(name)
            if id(sched) not in resolved:
                resolved[id(sched)] = frozenset(reuse_steps(sched, total, self.model_id, self.sampler(), self.cfg.schedule_file))
            masks[name] = resolved[id(sched)]
        self.masks, self.total, self._run_key, self.step = masks, total, key, -1
        self.cache.clear()
        self.peak_bytes = 0
        self.trace = []

    def _before_call(self, module: Any, args: tuple, kwargs: dict) -> None:
        ts = getattr(getattr(self.pipe, "scheduler", None), "timesteps", None)
        if ts is not None and ts is not self._run_key:
            # image-to-image pipelines start part-way (strength): the run is the calls left from here
            t = kwargs.get("timestep", args[1] if len(args) > 1 else None)
            self.begin(len(ts) - _position(ts, t), key=ts)
        if self.total is None:
            raise ZooError("attention reuse on a bare denoiser: call controller.begin(T) before the first step")
        self.step += 1
        if self.step >= self.total:
            raise ZooError(f"the denoiser was called {self.step + 1} times in a run of {self.total} steps; attention "
                           "reuse counts one call per step (batched classifier-free guidance)")
        self.trace.append({})

    def _after_call(self, module: Any, args: Any, output: Any) -> None:
        if self.step == self.total - 1:
            self.cache.clear()  # the run is over: free the maps

    # -- what each layer does now ----------------------------------------------------------
    def mode(self, name: str) -> str:
        mask = self.masks.get(name, frozenset())
        if self.step in mask:
            mode = REUSE
        elif self.step + 1 in mask:
            mode = CACHE
        else:
            self.cache.pop(name, None)  # no later step needs this map
            mode = COMPUTE
        if self.trace:
            self.trace[-1][name] = mode
        return mode

    def cached(self, name: str, batch: int) -> Any:
        amap = self.cache.get(name)
        if amap is None or amap.shape[0] != batch:
            got = "nothing" if amap is None else f"batch {amap.shape[0]}"
            raise ZooError(f"layer {name} reuses a map at step {self.step} but its cache holds {got} (needs batch {batch})")
        return amap

    def store(self, name: str, amap: Any) -> None:
        self.cache[name] = amap
        self.peak_bytes = max(self.peak_bytes, self.cache_bytes())

    def cache_bytes(self) -> int:
        return sum(a.numel() * a.element_size() for a in self.cache.values())

    def reuse_steps(self, name: Optional[str] = None) -> list[int]:
        """Reuse steps of the current run for one layer (default: the first wrapped layer)."""
        return sorted(self.masks[name or next(iter(self.originals))])

    def remove(self) -> None:
        for mod, orig in self.originals.values():
            mod.set_processor(orig)
        for h in self._hooks:
            h.remove()
        self.cache.clear()
        if getattr(self.denoiser, ATTR, None) is self:
            delattr(self.denoiser, ATTR)


def _position(timesteps: Any, t: Any) -> int:
    """Index of the first call's timestep ``t`` in the scheduler's timesteps (0 if not found)."""
    import torch

    if t is None:
        return 0
    value = float(t.flatten()[0]) if isinstance(t, torch.Tensor) else float(t)
    hits = torch.nonzero(torch.isclose(timesteps.float().cpu(), torch.tensor(value)), as_tuple=False)
    return int(hits[0, 0]) if len(hits) else 0


def apply(model: Any, config: Optional[dict] = None, model_id: str = "") -> Controller:
    """Install attention reuse on a pipeline (or a bare UNet / transformer); returns its controller."""
    cfg = config if isinstance(config, ReuseConfig) else parse_config(config or {})
    den = denoiser_of(model)
    if getattr(den, ATTR, None) is not None:
        raise ZooError("attention reuse is already applied to this model; remove it first (zoo_attnreuse.remove)")
    pipe = None if den is model else model
    if not model_id:
        import zoo

        spec = zoo.spec_of(model)
        model_id = spec.id if spec is not None else type(den).__name__
    ctrl = Controller(den, cfg, pipe=pipe, model_id=model_id)
    setattr(den, ATTR, ctrl)
    return ctrl


def controller_of(model: Any) -> Optional[Controller]:
    return getattr(denoiser_of(model), ATTR, None)


def remove(model: Any) -> Any:
    """Restore the original attention processors and drop the step hooks and cached maps."""
    ctrl = controller_of(model)
    if ctrl is not None:
        ctrl.remove()
    return model
