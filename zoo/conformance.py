"""Conformance kit: what a diffusers user does with a pipeline works on the zoo's, or is refused.

    from zoo.testing import check_conformance
    check_conformance("nanosd-tiny")   # {check: "ok" | "refused" | "n/a: why"}; ConformanceError if any fails

The checks follow what diffusers' own pipeline tests hold its pipelines to
(tests/pipelines/test_pipelines_common.py and the SD tests): save/load round trip, batch vs
single, dtype moves, step callbacks and interrupt, scheduler swap, attention slicing (close
output *and* a sliced processor on every attention module), VAE slicing and tiling, FreeU,
fused QKV fuse/unfuse, attention-processor set/reset, LoRA load/unload through diffusers'
loaders (PEFT) and IP-Adapter.

Which optional behaviours a pipeline owes is read from the stock diffusers pipeline it is: the
component classes its ``__init__`` names (StableDiffusionPipeline -> UNet2DConditionModel and
AutoencoderKL). Whatever the stock class offers, the zoo's class must do too, or the spec must
declare it in ``unsupported`` (see ``zoo.capabilities``); the kit then checks the refusal.
Each check works on its own copy of the pipeline, so one failure does not spill into the next.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import tempfile
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Union

from .capabilities import CAPABILITIES, DENOISER_NAMES, UnsupportedCapabilityError, denoiser_name, denoiser_of, label
from .specs import ModelSpec

PROMPTS = ["a photo of a red apple", "a small house by the sea"]
STEPS = 1  # one denoising step shows every behaviour but the step loop (callbacks use 2)
FREEU = {"s1": 0.9, "s2": 0.2, "b1": 1.2, "b2": 1.4}  # diffusers' SD1.x values
# Other schedulers a user swaps in, most common first (from_config of the pipeline's own).
SWAP_ORDER = ["EulerDiscreteScheduler", "DDIMScheduler", "DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler",
              "FlowMatchHeunDiscreteScheduler", "UniPCMultistepScheduler", "LMSDiscreteScheduler"]


class ConformanceError(AssertionError):
    """One or more conformance checks failed; the message lists each."""


class CheckFailed(AssertionError):
    pass


# ----------------------------------------------------------------------------- the target
@dataclass
class Run:
    images: Any  # np array [B, H, W, C]
    trace: Any  # the denoiser's outputs over the run, flattened (float32)
    calls: int  # denoiser calls
    dtype: Any  # dtype of the denoiser's outputs


def _first_tensor(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "sample"):
        return out.sample
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    if isinstance(out, dict) and out:
        return _first_tensor(next(iter(out.values())))
    raise TypeError(f"denoiser returned {type(out).__name__}, not a tensor")


def _stock_classes(pipe_cls: type) -> dict[str, type]:
    """Component classes the stock diffusers pipeline (nearest diffusers class in the MRO) names."""
    base = next((c for c in pipe_cls.__mro__ if c.__module__.startswith("diffusers.pipelines")), pipe_cls)
    try:
        hints = typing.get_type_hints(base.__init__)
    except Exception:  # an annotation that does not resolve: fall back to what the instance holds
        hints = {}
    out = {}
    for name, hint in hints.items():
        options = [a for a in typing.get_args(hint) if isinstance(a, type)] or ([hint] if isinstance(hint, type) else [])
        options = [a for a in options if a is not type(None)]
        if options:
            out[name] = options[0]
    return out


class Target:
    """A pipeline under test, its spec, and helpers to run it with tiny deterministic inputs."""

    def __init__(self, spec: ModelSpec, pipe: Any) -> None:
        self.spec, self.pipe = spec, pipe
        self.id = spec.id
        self.params = call_params(type(pipe))
        self.stock = _stock_classes(type(pipe))
        self.denoiser_name = denoiser_name(pipe)
        self._base: dict[int, Run] = {}
        self._work: Any = None

    # what the stock pipeline offers
    def stock_has(self, role: str, method: str) -> bool:
        name = self.denoiser_name if role == "denoiser" else role
        cls = self.stock.get(name or "")
        if cls is None:
            comp = getattr(self.pipe, name or "", None)
            cls = type(comp) if comp is not None else None
        return cls is not None and hasattr(cls, method)

    def copy(self) -> Any:
        """A private deep copy of the pipeline under test (tokenizers and processors shared: read-only here)."""
        shared = {id(c): c for c in self.pipe.components.values()
                  if c is not None and not hasattr(c, "parameters") and not hasattr(c, "set_timesteps")}
        pipe = copy.deepcopy(self.pipe, shared)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        return pipe

    def fresh(self) -> Any:
        """The working copy the checks share: each check turns off what it turned on and verifies
        the output came back; after a failed check the kit starts a new copy (``discard``)."""
        if self._work is None:
            self._work = self.copy()
        return self._work

    def discard(self) -> None:
        self._work = None

    def kwargs(self, batch: int = 1, seed: int = 0) -> dict:
        import numpy as np
        import torch
        from PIL import Image

        p, kw = self.params, {}
        if "prompt" in p:
            kw["prompt"] = PROMPTS[:batch]
        if "class_labels" in p:
            kw["class_labels"] = [1, 3][:batch]
        if "image" in p:
            side = self.spec.resolution // (4 if self.spec.task == "super-resolution" else 1)
            rng = np.random.default_rng(seed)
            imgs = [Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for _ in range(batch)]
            kw["image"] = imgs
        for k in ("height", "width"):
            if k in p:
                kw[k] = self.spec.resolution
        for k, v in (("num_inference_steps", STEPS), ("output_type", "np"), ("use_resolution_binning", False)):
            if k in p:
                kw[k] = v
        gens = [torch.Generator("cpu").manual_seed(seed + i) for i in range(batch)]
        kw["generator"] = gens if batch > 1 else gens[0]  # a list only where diffusers' batch test uses one
        return kw

    def run(self, pipe: Any = None, batch: int = 1, **extra: Any) -> Run:
        import numpy as np
        import torch

        pipe = self.pipe if pipe is None else pipe
        torch.manual_seed(0)  # for pipelines that draw noise outside the generator (DiT with DDPM)
        outs: list = []
        den = denoiser_of(pipe)
        handle = den.register_forward_hook(lambda m, a, out: outs.append(_first_tensor(out).detach().clone()))
        try:
            with torch.no_grad():
                res = pipe(**{**self.kwargs(batch), **extra})
        finally:
            handle.remove()
        images = res.images if hasattr(res, "images") else res[0]
        images = images.float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, dtype=np.float32)
        trace = torch.cat([o.float().flatten() for o in outs]) if outs else torch.zeros(0)
        return Run(images, trace, len(outs), outs[0].dtype if outs else None)

    def base(self, batch: int = 1) -> Run:
        if batch not in self._base:
            self._base[batch] = self.run(self.fresh(), batch=batch)
        return self._base[batch]


def call_params(pipe_cls: type) -> dict:
    """Arguments of ``pipe_cls.__call__``, through ``*args, **kwargs`` wrappers to the class they call."""
    params: dict = {}
    for cls in pipe_cls.__mro__:
        if "__call__" in vars(cls):
            sig = inspect.signature(vars(cls)["__call__"]).parameters
            params.update({k: v for k, v in sig.items() if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD) and k not in params})
            if not any(v.kind == v.VAR_KEYWORD for v in sig.values()):
                break
    return params


def attention_modules(module: Any) -> dict[str, Any]:
    """Modules that carry a diffusers attention processor (diffusers' own notion of an attention layer)."""
    return {n: m for n, m in module.named_modules() if hasattr(m, "set_processor") and hasattr(m, "processor")}


# ----------------------------------------------------------------------------- comparisons
def _maxdiff(a: Any, b: Any) -> float:
    import numpy as np
    import torch

    if isinstance(a, torch.Tensor):
        if a.shape != b.shape:
            raise CheckFailed(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
        return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise CheckFailed(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.abs(a - b).max()) if a.size else 0.0


def _scale(t: Any) -> float:
    return max(1.0, float(t.abs().max())) if t.numel() else 1.0


def close(what: str, a: Any, b: Any, tol: float) -> None:
    d = _maxdiff(a, b)
    if not d <= tol:  # also catches NaN
        raise CheckFailed(f"{what}: max difference {d:.3g} > {tol:g}")


def same_trace(what: str, run: Run, base: Run, rel: float) -> None:
    close(what + " (denoiser outputs)", run.trace, base.trace, rel * _scale(base.trace))


def differs(what: str, run: Run, base: Run, rel: float = 1e-4) -> None:
    d = _maxdiff(run.trace, base.trace)
    if not d > rel * _scale(base.trace):
        raise CheckFailed(f"{what}: the denoiser's outputs did not change (max difference {d:.3g}): a silent no-op")


@contextlib.contextmanager
def record_inputs(module: Any) -> Iterator[list]:
    """Shapes of the first tensor argument of each call of ``module``'s direct children."""
    import torch

    seen: list = []

    def hook(m, args, kwargs):
        t = next((a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), None)
        if t is not None:
            seen.append(tuple(t.shape))

    handles = [c.register_forward_pre_hook(hook, with_kwargs=True) for c in module.children()]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


# ----------------------------------------------------------------------------- checks
def check_save_load(t: Target) -> None:
    base = t.base()
    with tempfile.TemporaryDirectory(prefix="zoo-conformance-") as d:
        t.fresh().save_pretrained(d, safe_serialization=True)
        loaded = type(t.pipe).from_pretrained(d)
    for name, comp in t.pipe.components.items():
        got = loaded.components.get(name)
        if type(got) is not type(comp):
            raise CheckFailed(f"component {name!r} came back as {type(got).__name__}, was {type(comp).__name__}")
    run = t.run(loaded)
    close("output after save_pretrained/from_pretrained", run.images, base.images, 1e-5)
    same_trace("after save/load", run, base, 1e-5)


def check_batch(t: Target) -> None:
    single, batch = t.base(1), t.base(2)
    if batch.images.shape[0] != 2:
        raise CheckFailed(f"a batch of 2 inputs gave {batch.images.shape[0]} images")
    close("image 0 of a batch of 2 vs the same input alone", batch.images[:1], single.images[:1], 1e-4)


def check_dtype(t: Target) -> None:
    import numpy as np
    import torch

    pipe = t.copy()  # not undone: bf16 weights do not go back exactly
    pipe.to(torch.bfloat16)
    wrong = {n: str(p.dtype) for n, c in pipe.components.items() if isinstance(c, torch.nn.Module)
             for p in list(c.parameters())[:1] if p.dtype != torch.bfloat16}
    if wrong:
        raise CheckFailed(f"pipe.to(torch.bfloat16) left components in other dtypes: {wrong}")
    run = t.run(pipe)
    if run.dtype != torch.bfloat16:
        raise CheckFailed(f"after pipe.to(torch.bfloat16) the denoiser computed in {run.dtype}")
    if run.images.shape != t.base().images.shape or not np.isfinite(run.images).all():
        raise CheckFailed("bfloat16 output has another shape or non-finite values")
    pipe.to(torch.float32)
    wrong = {n for n, c in pipe.components.items() if isinstance(c, torch.nn.Module)
             and any(p.dtype != torch.float32 for p in c.parameters())}
    if wrong:
        raise CheckFailed(f"pipe.to(torch.float32) did not move {sorted(wrong)} back")


def applies_callbacks(t: Target) -> Optional[str]:
    if "callback_on_step_end" in t.params or "callback" in t.params:
        return None
    return f"{type(t.pipe).__name__}.__call__ takes no step callback"


def check_callbacks(t: Target) -> None:
    import torch

    two = {"num_inference_steps": 2} if "num_inference_steps" in t.params else {}
    base = t.run(t.fresh(), **two)
    pipe = t.fresh()
    steps: list = []
    if "callback_on_step_end" not in t.params:  # older pipelines: callback(i, t, latents)
        t.run(pipe, callback=lambda i, ts, latents: steps.append(i), callback_steps=1, **two)
        if not steps or steps != list(range(len(steps))):
            raise CheckFailed(f"callback saw steps {steps}")
        return
    inputs = [n for n in ("latents",) if n in getattr(pipe, "_callback_tensor_inputs", [])]

    def cb(p, i, ts, kw):
        steps.append(i)
        missing = [n for n in inputs if not isinstance(kw.get(n), torch.Tensor)]
        if missing:
            raise CheckFailed(f"callback_on_step_end got no tensors for {missing}")
        return {"latents": torch.zeros_like(kw["latents"])} if inputs and i == 0 else kw

    run = t.run(pipe, callback_on_step_end=cb, callback_on_step_end_tensor_inputs=inputs, **two)
    if not steps or steps != list(range(len(steps))):
        raise CheckFailed(f"callback_on_step_end saw steps {steps}")
    if inputs:
        differs("latents returned by callback_on_step_end", run, base)
    if hasattr(type(pipe), "interrupt"):
        seen: list = []

        def stop(p, i, ts, kw):
            seen.append(i)
            p._interrupt = True
            return kw

        cut = t.run(pipe, callback_on_step_end=stop, **two)
        pipe._interrupt = False
        if seen != [0] or not cut.calls < base.calls:
            raise CheckFailed(f"setting pipe._interrupt in the callback did not stop the loop (callback saw {seen}, "
                              f"denoiser ran {cut.calls} of {base.calls} times)")


def _swap_class(t: Target) -> Optional[type]:
    import diffusers

    compat = {c.__name__ for c in getattr(t.pipe.scheduler, "compatibles", [])}
    for name in SWAP_ORDER:
        if name in compat and name != type(t.pipe.scheduler).__name__:
            return getattr(diffusers, name)
    return None


def applies_scheduler_swap(t: Target) -> Optional[str]:
    return None if _swap_class(t) else f"{type(t.pipe.scheduler).__name__} lists no other common scheduler as compatible"


def check_scheduler_swap(t: Target) -> None:
    import numpy as np

    base = t.base()
    pipe = t.fresh()
    original = pipe.scheduler
    cls = _swap_class(t)
    pipe.scheduler = cls.from_config(original.config)
    run = t.run(pipe)
    if run.images.shape != base.images.shape or not np.isfinite(run.images).all():
        raise CheckFailed(f"with {cls.__name__} the output has another shape or non-finite values")
    pipe.scheduler = type(original).from_config(original.config)
    close(f"output after swapping back from {cls.__name__}", t.run(pipe).images, base.images, 1e-5)


def applies_attention_slicing(t: Target) -> Optional[str]:
    return None if t.stock_has("denoiser", "set_attention_slice") else "the stock denoiser has no attention slicing"


def check_attention_slicing(t: Target) -> None:
    base = t.base()
    pipe = t.fresh()
    attn = attention_modules(denoiser_of(pipe))
    pipe.enable_attention_slicing(slice_size=1)
    plain = [n for n, m in attn.items() if "Sliced" not in type(m.processor).__name__]
    if plain:
        raise CheckFailed(f"enable_attention_slicing() left {len(plain)} of {len(attn)} attention modules without a "
                          f"sliced processor (e.g. {plain[0]}): memory is not bounded")
    same_trace("sliced attention (slice_size=1)", t.run(pipe), base, 1e-3)
    pipe.disable_attention_slicing()
    still = [n for n, m in attn.items() if "Sliced" in type(m.processor).__name__]
    if still:
        raise CheckFailed(f"disable_attention_slicing() left {len(still)} sliced processors")
    same_trace("after disable_attention_slicing()", t.run(pipe), base, 1e-5)


def _vae_call(pipe: Any, pipe_method: str, vae_method: str) -> None:
    fn = getattr(pipe, pipe_method, None)
    (fn if fn is not None else getattr(pipe.vae, vae_method))()


def applies_vae(method: str) -> Callable[[Target], Optional[str]]:
    def applies(t: Target) -> Optional[str]:
        if getattr(t.pipe, "vae", None) is None:
            return "the pipeline has no VAE"
        return None if t.stock_has("vae", method) else f"the stock VAE has no {method}()"

    return applies


def check_vae_slicing(t: Target) -> None:
    base = t.base(2)
    pipe = t.fresh()
    _vae_call(pipe, "enable_vae_slicing", "enable_slicing")
    with record_inputs(pipe.vae) as seen:
        run = t.run(pipe, batch=2)
    if not seen or max(s[0] for s in seen) > 1:
        raise CheckFailed(f"with VAE slicing on, the VAE's blocks still saw batches of {max(s[0] for s in seen) if seen else 0}")
    close("images with VAE slicing", run.images, base.images, 3e-3)
    _vae_call(pipe, "disable_vae_slicing", "disable_slicing")
    close("images after disabling VAE slicing", t.run(pipe, batch=2).images, base.images, 1e-5)


def _vae_scale(vae: Any) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def check_vae_tiling(t: Target) -> None:
    import torch

    pipe = t.fresh()
    vae = pipe.vae
    f = _vae_scale(vae)
    tile = int(getattr(vae.config, "sample_size", 64) or 64)
    if isinstance(tile, (list, tuple)):
        tile = tile[0]
    lt = max(1, tile // f)
    z = torch.randn(1, vae.config.latent_channels, 2 * lt + 1, lt + 3, generator=torch.Generator().manual_seed(0))
    x = torch.rand(1, vae.config.in_channels, 2 * tile, tile + 2 * f, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ref_dec = vae.decode(z).sample
        ref_enc = vae.encode(x).latent_dist.mean if hasattr(vae, "encode") else None
        _vae_call(pipe, "enable_vae_tiling", "enable_tiling")
        with record_inputs(vae) as seen:
            dec = vae.decode(z).sample
        if not seen or max(s[-1] * s[-2] for s in seen if len(s) == 4) >= z.shape[-1] * z.shape[-2]:
            raise CheckFailed("with VAE tiling on, decode() ran the whole latent at once (no tiles)")
        if dec.shape != ref_dec.shape:
            raise CheckFailed(f"tiled decode gave shape {tuple(dec.shape)}, untiled {tuple(ref_dec.shape)}")
        # Random-weight VAEs normalise each tile on its own (GroupNorm), so tiles differ from the
        # whole; the blend must still give the same picture: correlation, not a tight tolerance
        # (benchmarks/conformance_tiling.py prints it for the stock and NanoSD tiny VAEs and for a
        # 5-pixel misplacement).
        corr = float(torch.corrcoef(torch.stack([dec.flatten(), ref_dec.flatten()]))[0, 1])
        if not corr > 0.5:
            raise CheckFailed(f"tiled decode does not match untiled (correlation {corr:.2f} <= 0.5)")
        if ref_enc is not None:
            with record_inputs(vae) as seen:
                enc = vae.encode(x).latent_dist.mean
            if not seen or max(s[-1] * s[-2] for s in seen if len(s) == 4) >= x.shape[-1] * x.shape[-2]:
                raise CheckFailed("with VAE tiling on, encode() ran the whole image at once (no tiles)")
            if enc.shape != ref_enc.shape:
                raise CheckFailed(f"tiled encode gave shape {tuple(enc.shape)}, untiled {tuple(ref_enc.shape)}")
        _vae_call(pipe, "disable_vae_tiling", "disable_tiling")
        close("decode after disabling tiling", vae.decode(z).sample, ref_dec, 1e-5)


def applies_freeu(t: Target) -> Optional[str]:
    if not hasattr(t.pipe, "enable_freeu"):
        return f"{type(t.pipe).__name__} has no enable_freeu"
    return None if t.stock_has("denoiser", "enable_freeu") else "the stock denoiser has no FreeU"


def check_freeu(t: Target) -> None:
    base = t.base()
    pipe = t.fresh()
    pipe.enable_freeu(**FREEU)
    differs("enable_freeu()", t.run(pipe), base)
    pipe.disable_freeu()
    same_trace("after disable_freeu()", t.run(pipe), base, 1e-6)


def applies_fused_qkv(t: Target) -> Optional[str]:
    if not hasattr(t.pipe, "fuse_qkv_projections"):
        return f"{type(t.pipe).__name__} has no fuse_qkv_projections"
    return None if t.stock_has("denoiser", "fuse_qkv_projections") else "the stock denoiser has no QKV fusion"


def _fuse_kwargs(pipe: Any) -> dict:
    # StableDiffusionMixin also fuses the VAE and refuses any VAE but AutoencoderKL: fuse it only
    # when it has attention to fuse.
    params = inspect.signature(pipe.fuse_qkv_projections).parameters
    if "vae" in params:
        return {"vae": bool(getattr(pipe, "vae", None) is not None and attention_modules(pipe.vae))}
    return {}


def check_fused_qkv(t: Target) -> None:
    base = t.base()
    pipe = t.fresh()
    attn = attention_modules(denoiser_of(pipe))
    kw = _fuse_kwargs(pipe)
    pipe.fuse_qkv_projections(**kw)
    unfused = [n for n, m in attn.items() if not (hasattr(m, "to_qkv") or hasattr(m, "to_kv"))]
    if unfused:
        raise CheckFailed(f"fuse_qkv_projections() left {len(unfused)} of {len(attn)} attention modules without fused "
                          f"weights (e.g. {unfused[0]})")
    plain = [n for n, m in attn.items() if not type(m.processor).__name__.startswith("Fused")]
    if plain:
        raise CheckFailed(f"fuse_qkv_projections() left {len(plain)} attention modules on unfused processors")
    for i in range(2):  # a second call must work too
        same_trace(f"fused QKV, call {i + 1}", t.run(pipe), base, 1e-3)
    pipe.unfuse_qkv_projections(**kw)
    fused = [n for n, m in attn.items() if type(m.processor).__name__.startswith("Fused")]
    if fused:
        raise CheckFailed(f"unfuse_qkv_projections() left {len(fused)} fused processors")
    same_trace("after unfuse_qkv_projections()", t.run(pipe), base, 1e-4)


def applies_attn_processor(t: Target) -> Optional[str]:
    return None if t.stock_has("denoiser", "set_default_attn_processor") else "the stock denoiser has no set_default_attn_processor"


def check_attn_processor(t: Target) -> None:
    from diffusers.models.attention_processor import AttnProcessor2_0, SlicedAttnProcessor

    base = t.base()
    pipe = t.fresh()
    den = denoiser_of(pipe)
    attn = attention_modules(den)
    original = dict(den.attn_processors)
    if len(original) != len(attn):
        raise CheckFailed(f"attn_processors lists {len(original)} processors for {len(attn)} attention modules")
    called: set = set()

    class Recording(AttnProcessor2_0):
        def __call__(self, module, *args, **kwargs):
            called.add(id(module))
            return super().__call__(module, *args, **kwargs)

    recordable = all(type(p) is AttnProcessor2_0 for p in original.values())
    if recordable:  # a processor that records its callers: does every attention module use it?
        den.set_attn_processor(Recording())
        run = t.run(pipe)
        missed = [n for n, m in attn.items() if id(m) not in called]
        if missed:
            raise CheckFailed(f"set_attn_processor(): {len(missed)} of {len(attn)} attention modules never called the "
                              f"installed processor (e.g. {missed[0]})")
        same_trace("with a processor set by set_attn_processor()", run, base, 1e-5)
        # a stock processor the reset must replace (diffusers resets only from its own processors)
        den.set_attn_processor(SlicedAttnProcessor(1))
    den.set_default_attn_processor()
    kinds = {type(m.processor) for m in attn.values()}
    if len(kinds) > 1 or (recordable and SlicedAttnProcessor in kinds):
        raise CheckFailed(f"set_default_attn_processor() did not reset every module to one default processor "
                          f"(found {sorted(k.__name__ for k in kinds)})")
    same_trace("after set_default_attn_processor()", t.run(pipe), base, 1e-4)
    den.set_attn_processor(dict(original))
    same_trace("after restoring the original processors", t.run(pipe), base, 1e-6)


def applies_lora(t: Target) -> Optional[str]:
    if not hasattr(t.pipe, "load_lora_weights"):
        return f"{type(t.pipe).__name__} has no LoRA loader"
    if f"{t.denoiser_name}_lora_layers" not in inspect.signature(type(t.pipe).save_lora_weights).parameters:
        return f"{type(t.pipe).__name__}.save_lora_weights takes no {t.denoiser_name}_lora_layers"
    return None


LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def lora_state_dict(denoiser: Any, rank: int = 4, seed: int = 0, std: float = 0.2) -> dict:
    """A random LoRA in PEFT's layout (``<module>.lora_A.weight`` / ``lora_B``) on every attention
    projection of ``denoiser``: what PEFT's get_peft_model_state_dict gives after training."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, m in denoiser.named_modules():
        if isinstance(m, torch.nn.Linear) and name.endswith(LORA_TARGETS):
            out[f"{name}.lora_A.weight"] = torch.randn(rank, m.in_features, generator=g) * std
            out[f"{name}.lora_B.weight"] = torch.randn(m.out_features, rank, generator=g) * std
    return out


def _lora_modules(module: Any) -> list[str]:
    return [n for n, m in module.named_modules() if hasattr(m, "lora_A") and len(getattr(m, "lora_A", {}))]


def check_lora(t: Target) -> None:
    base = t.base()
    pipe = t.fresh()
    den = denoiser_of(pipe)
    sd = lora_state_dict(den)
    if not sd:
        raise CheckFailed(f"the denoiser has no attention projections {LORA_TARGETS} for a LoRA")
    with tempfile.TemporaryDirectory(prefix="zoo-lora-") as d:
        type(pipe).save_lora_weights(d, **{f"{t.denoiser_name}_lora_layers": sd}, safe_serialization=True)
        pipe.load_lora_weights(d, weight_name="pytorch_lora_weights.safetensors", adapter_name="conformance")
    wrapped = _lora_modules(den)
    if len(wrapped) * 2 != len(sd):
        raise CheckFailed(f"load_lora_weights() wrapped {len(wrapped)} of {len(sd) // 2} LoRA target modules")
    lora = t.run(pipe)
    differs("load_lora_weights()", lora, base)
    scale_kw = next((k for k in ("cross_attention_kwargs", "joint_attention_kwargs", "attention_kwargs") if k in t.params), None)
    if scale_kw:
        same_trace(f"LoRA at {scale_kw}={{'scale': 0.0}}", t.run(pipe, **{scale_kw: {"scale": 0.0}}), base, 1e-5)
    if hasattr(pipe, "set_adapters"):  # block-wise scales are read through the UNet's config
        pipe.set_adapters(["conformance"], adapter_weights=[0.0])
        same_trace("set_adapters(weight 0)", t.run(pipe), base, 1e-5)
        pipe.set_adapters(["conformance"], adapter_weights=[1.0])
    if hasattr(pipe, "fuse_lora"):
        pipe.fuse_lora()
        same_trace("fuse_lora()", t.run(pipe), lora, 1e-4)
        pipe.unfuse_lora()
        same_trace("unfuse_lora()", t.run(pipe), lora, 1e-4)
    pipe.unload_lora_weights()
    if _lora_modules(den):
        raise CheckFailed("unload_lora_weights() left LoRA layers in the denoiser")
    # fuse_lora/unfuse_lora above add and subtract B@A in place: fp32 round-off of ~1 ulp per
    # weight remains after unloading, so "back to the original" is judged at 1e-5, not bit-exact
    same_trace("after unload_lora_weights()", t.run(pipe), base, 1e-5)


# Stock diffusers pipelines that do not do what their API offers (the control fails too).
STOCK_GAPS = {
    ("StableDiffusionInstructPix2PixPipeline", "ip_adapter"):
        "diffusers' InstructPix2Pix passes image embeds to the UNet only with ip_adapter_image, not ip_adapter_image_embeds",
}


def applies_ip_adapter(t: Target) -> Optional[str]:
    if not hasattr(t.pipe, "load_ip_adapter") or "ip_adapter_image_embeds" not in t.params:
        return f"{type(t.pipe).__name__} takes no IP-Adapter"
    gap = next((v for (cls, cap), v in STOCK_GAPS.items() if cap == "ip_adapter"
                and any(c.__name__ == cls for c in type(t.pipe).__mro__)), None)
    if gap:
        return gap
    stock = t.stock.get(t.denoiser_name or "")
    if _ip_fixture(stock) is None:
        return (f"not covered: the kit has IP-Adapter fixtures for UNet and SD3-transformer loaders, "
                f"{getattr(stock, '__name__', stock)} loads another")
    return None


def _ip_fixture(stock: Any) -> Optional[str]:
    from diffusers.loaders import SD3Transformer2DLoadersMixin, UNet2DConditionLoadersMixin

    if isinstance(stock, type) and issubclass(stock, UNet2DConditionLoadersMixin):
        return "unet"
    if isinstance(stock, type) and issubclass(stock, SD3Transformer2DLoadersMixin):
        return "sd3"
    return None


def ip_adapter_state_dict(unet: Any, embed_dim: int, seed: int = 0) -> dict:
    """A random IP-Adapter (image projection + to_k_ip/to_v_ip per cross-attention) in the
    layout diffusers' UNet loader reads; as diffusers' tests build theirs."""
    import torch

    g = torch.Generator().manual_seed(seed)
    cross = unet.config.cross_attention_dim
    cross = cross[0] if isinstance(cross, (list, tuple)) else cross
    image_proj = {"proj.weight": torch.randn(4 * cross, embed_dim, generator=g) * 0.2,
                  "proj.bias": torch.zeros(4 * cross), "norm.weight": torch.ones(cross), "norm.bias": torch.zeros(cross)}
    ip, key = {}, 1
    mods = attention_modules(unet)
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        hidden = mods[name[: -len(".processor")]].to_q.out_features
        ip[f"{key}.to_k_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.2
        ip[f"{key}.to_v_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.2
        key += 2
    return {"image_proj": image_proj, "ip_adapter": ip}


def sd3_ip_adapter_state_dict(transformer: Any, embed_dim: int, seed: int = 0) -> dict:
    """A random SD3 IP-Adapter (time-conditioned resampler + a joint-attention IP processor per
    block) with the keys diffusers' SD3 transformer loader reads, from diffusers' own modules."""
    import torch
    from diffusers.models.attention_processor import SD3IPAdapterJointAttnProcessor2_0
    from diffusers.models.embeddings import IPAdapterTimeImageProjection

    cfg = transformer.config
    hidden = cfg.attention_head_dim * cfg.num_attention_heads
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        proj = IPAdapterTimeImageProjection(embed_dim=embed_dim, output_dim=hidden, hidden_dim=64, heads=1,
                                            num_queries=4, timestep_in_dim=32)
        ip = {}
        for idx in range(len(transformer.attn_processors)):
            p = SD3IPAdapterJointAttnProcessor2_0(hidden, hidden, cfg.attention_head_dim, timesteps_emb_dim=64)
            ip.update({f"{idx}.{k}": v for k, v in p.state_dict().items()})
    return {"image_proj": proj.state_dict(), "ip_adapter": ip}


def check_ip_adapter(t: Target) -> None:
    import torch

    base = t.base()
    pipe = t.fresh()
    den = denoiser_of(pipe)
    dim = 8
    g = torch.Generator().manual_seed(3)
    cfg = float(t.params["guidance_scale"].default) > 1 if "guidance_scale" in t.params else False
    sd3 = _ip_fixture(t.stock.get(t.denoiser_name or "")) == "sd3"
    sd = sd3_ip_adapter_state_dict(den, dim) if sd3 else ip_adapter_state_dict(den, dim)
    with tempfile.TemporaryDirectory(prefix="zoo-ip-adapter-") as d:  # a file, as users get adapters
        from safetensors.torch import save_file

        save_file({f"{part}.{k}": v.contiguous() for part, tensors in sd.items() for k, v in tensors.items()},
                  f"{d}/ip-adapter.safetensors")
        pipe.load_ip_adapter(d, subfolder=None if sd3 else "", weight_name="ip-adapter.safetensors",
                             image_encoder_folder=None)
    # embeds as an image encoder would give them: (negative, positive) with guidance
    embeds = torch.randn(2 if cfg else 1, 4, dim, generator=g) if sd3 else [torch.randn(2 if cfg else 1, 1, dim, generator=g)]
    pipe.set_ip_adapter_scale(0.0)
    same_trace("IP-Adapter at scale 0", t.run(pipe, ip_adapter_image_embeds=embeds), base, 1e-4)
    pipe.set_ip_adapter_scale(1.0)
    differs("IP-Adapter at scale 1", t.run(pipe, ip_adapter_image_embeds=embeds), base)
    pipe.unload_ip_adapter()
    same_trace("after unload_ip_adapter()", t.run(pipe), base, 1e-5)


def _always(t: Target) -> Optional[str]:
    return None


@dataclass
class Check:
    run: Callable[[Target], None]
    applies: Callable[[Target], Optional[str]] = _always
    capability: Optional[str] = None  # a capability a spec may declare unsupported


CHECKS: dict[str, Check] = {
    "save_load": Check(check_save_load),
    "batch": Check(check_batch),
    "dtype": Check(check_dtype),
    "callbacks": Check(check_callbacks, applies_callbacks),
    "scheduler_swap": Check(check_scheduler_swap, applies_scheduler_swap),
    "attention_slicing": Check(check_attention_slicing, applies_attention_slicing, "attention_slicing"),
    "vae_slicing": Check(check_vae_slicing, applies_vae("enable_slicing"), "vae_slicing"),
    "vae_tiling": Check(check_vae_tiling, applies_vae("enable_tiling"), "vae_tiling"),
    "freeu": Check(check_freeu, applies_freeu, "freeu"),
    "fused_qkv": Check(check_fused_qkv, applies_fused_qkv, "fused_qkv"),
    "attn_processor": Check(check_attn_processor, applies_attn_processor, "attn_processor"),
    "lora": Check(check_lora, applies_lora, "lora"),
    "ip_adapter": Check(check_ip_adapter, applies_ip_adapter, "ip_adapter"),
}
assert all(c.capability in CAPABILITIES for c in CHECKS.values() if c.capability)


# ----------------------------------------------------------------------------- refusals
def check_refusal(t: Target, capability: str) -> None:
    """Every entry point of a declared-unsupported capability raises a one-line
    UnsupportedCapabilityError naming the model and the capability."""
    _, pipe_methods, comp_methods = CAPABILITIES[capability]
    comps = {"denoiser": denoiser_of(t.pipe), "vae": getattr(t.pipe, "vae", None)}
    calls = [(f"pipe.{m}", getattr(t.pipe, m)) for m in pipe_methods if hasattr(t.pipe, m)]
    calls += [(f"{role}.{m}", getattr(comps[role], m)) for role, ms in comp_methods.items()
              if comps.get(role) is not None for m in ms if hasattr(comps[role], m)]
    if not calls:
        raise CheckFailed(f"declared unsupported, but the pipeline has none of its entry points to refuse")
    for what, fn in calls:
        try:
            fn()
        except UnsupportedCapabilityError as exc:
            msg = str(exc)
            if "\n" in msg or t.id not in msg or label(capability) not in msg:
                raise CheckFailed(f"{what}() refused with {msg!r}: one line naming {t.id!r} and {label(capability)!r}")
        except Exception as exc:
            raise CheckFailed(f"{what}() raised {type(exc).__name__} ({exc}), not the declared refusal") from exc
        else:
            raise CheckFailed(f"{what}() did not refuse although the spec declares it unsupported (a silent no-op)")


# ----------------------------------------------------------------------------- entry point
def conformance_ids() -> list[str]:
    """Registered ``-tiny`` pipelines (every family has one), in registry order."""
    from .registry import get_registry

    return [s.id for s in get_registry().models.values() if s.id.endswith("-tiny") and s.task != "component"]


def check_conformance(spec_or_id: Union[str, ModelSpec], pipe: Any = None, checks: Optional[list[str]] = None,
                      raise_on_failure: bool = True) -> dict[str, str]:
    """Run the conformance checks on a registered pipeline (built tiny when ``pipe`` is None).

    Returns ``{check: status}`` with status ``ok``, ``refused`` (declared unsupported and refused
    as it must be), ``n/a: why`` or ``FAILED: why``; raises ConformanceError listing the failures.
    """
    import torch

    from .loading import build
    from .registry import get_registry

    spec = spec_or_id if isinstance(spec_or_id, ModelSpec) else get_registry().get(spec_or_id)
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown conformance checks {unknown}; known: {list(CHECKS)}")
    if pipe is None:
        torch.manual_seed(0)
        pipe = build(spec)
    if not hasattr(pipe, "components") or denoiser_of(pipe) is None:
        raise ConformanceError(f"{spec.id}: the conformance kit found no denoiser in {type(pipe).__name__}: register it as "
                               f"one of {', '.join(DENOISER_NAMES)}")
    t = Target(spec, pipe)
    report: dict[str, str] = {}
    for name in names:
        chk = CHECKS[name]
        try:
            if chk.capability and chk.capability in spec.unsupported:
                check_refusal(t, chk.capability)
                report[name] = "refused"
                continue
            why = chk.applies(t)
            if why:
                report[name] = f"n/a: {why}"
                continue
            chk.run(t)
            report[name] = "ok"
        except UnsupportedCapabilityError as exc:
            t.discard()
            report[name] = f"FAILED: refused although not declared unsupported ({exc})"
        except Exception as exc:  # noqa: BLE001 - every failure is reported, with its kind
            t.discard()  # it may have left the working copy changed
            kind = "" if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: "
            hint = f" (or declare spec.unsupported[{chk.capability!r}] with the reason)" if chk.capability else ""
            report[name] = f"FAILED: {kind}{str(exc).splitlines()[0] if str(exc) else ''}{hint}"
    if raise_on_failure:
        raise_failures(spec.id, type(pipe).__name__, report)
    return report


def raise_failures(model_id: str, pipeline: str, report: dict[str, str]) -> None:
    failed = {k: v for k, v in report.items() if v.startswith("FAILED")}
    if failed:
        lines = "\n".join(f"  {k}: {v[len('FAILED: '):]}" for k, v in failed.items())
        raise ConformanceError(f"{model_id} ({pipeline}) fails {len(failed)} conformance check(s):\n{lines}")


_REPORTS: dict[str, dict[str, str]] = {}


def conformance_report(spec: ModelSpec, pipe: Any = None) -> dict[str, str]:
    """check_conformance's full report for a spec, computed once per process (the contract kit
    and the conformance test both ask for every -tiny pipeline)."""
    key = spec.model_dump_json()
    if key not in _REPORTS:
        _REPORTS[key] = check_conformance(spec, pipe=pipe, raise_on_failure=False)
    return _REPORTS[key]
