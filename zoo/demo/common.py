"""What every demo app shares, free of gradio: loading (with an LRU cache), input checks,
image-mode conversion and running a pipeline with a per-step callback.

Errors a user can fix are raised as ``DemoInputError``; the UI layer turns them into
``gr.Error`` so the message reaches the browser and gradio_client without a stack trace.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..errors import WeightsNotFoundError, ZooError
from ..registry import get_spec

# Largest upload decoded at all (pixels). An editing input is then resized to the chosen side.
MAX_UPLOAD_PIXELS = 4096 * 4096
QUEUE_MAX_SIZE = 16
MEMORY_MB = 2048  # memory budget of one tile of a tiled pipeline or upscale (ZOO_DEMO_MEMORY_MB overrides)


class DemoInputError(ZooError):
    """Bad input from a demo user: shown in the UI as a message, never as a traceback."""


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ZooError(f"${name} must be an integer, got {raw!r}") from None


def memory_budget_mb() -> float:
    return float(env_int("ZOO_DEMO_MEMORY_MB", MEMORY_MB))


def random_init_forced() -> bool:
    return os.environ.get("ZOO_DEMO_RANDOM_INIT", "") in ("1", "true", "yes")


def is_tiny(model_id: str) -> bool:
    return model_id.split(".")[0].endswith("-tiny")


# -- model loading ---------------------------------------------------------------------------
@dataclass
class Loaded:
    pipe: Any
    model_id: str
    random_weights: bool
    load_s: float  # seconds this call spent loading (0 when it came from the cache)

    @property
    def note(self) -> str:
        if not self.random_weights:
            return miniature_note(self.model_id)
        if is_tiny(self.model_id):
            return (f"⚠️ **random weights**: `{self.model_id}` is a tiny test variant, built with random init by "
                    f"design; its images are noise.")
        return (f"⚠️ **random weights**: no trained weights for `{self.model_id}` here, so it was built with "
                f"random init and its images are noise. {weights_hint(self.model_id)}")


def is_miniature(model_id: str) -> bool:
    """A proving-ground miniature (mini-sd, mini-sr, mini-edit, ...): small trained weights shipped in a package."""
    spec = get_spec(model_id)
    return "miniature" in spec.tags and bool(spec.shipped_weights)


def miniature_note(model_id: str) -> str:
    if not is_miniature(model_id):
        return ""
    return (f"🔬 **miniature**: `{model_id}` is a proving-ground model trained from scratch on CPU in minutes "
            f"({get_spec(model_id).resolution} px data), not a full-size model.")


def has_local_weights(model_id: str) -> bool:
    """Trained weights are on this machine (shipped in a package, or in the HF cache): no download needed."""
    from ..hub import cached_snapshot, shipped_folder

    spec = get_spec(model_id)
    if shipped_folder(spec) is not None:
        return True
    return bool(spec.hub_repo) and cached_snapshot(spec.hub_repo, spec.revision) is not None


def preferred_default(ids: Sequence[str]) -> str:
    """The model an app preselects: a full-size model whose weights are here, else a miniature (its weights
    ship in a package), else a ``-tiny`` (random weights by design), else the first. A spec tagged
    ``demo-default`` goes first among its kind (mini-sd rather than mini-pixart for text-to-image)."""
    local = sorted((m for m in ids if not is_tiny(m) and has_local_weights(m)),
                   key=lambda m: "demo-default" not in get_spec(m).tags)
    full = [m for m in local if not is_miniature(m)]
    return (full or local or [m for m in ids if is_tiny(m)] or list(ids))[0]


def weights_hint(model_id: str) -> str:
    """How to get weights: fetch them where the spec names a Hub repo, else train them."""
    from ..registry import get_spec

    from ..hub import has_train_hook

    spec = get_spec(model_id)
    if spec.hub_repo:
        return f"Get weights with `zoo fetch {model_id}`."
    if has_train_hook(spec.plugin):
        return f"No weights are published for it yet: train them with `zoo train {model_id}`."
    return "No weights are published for it yet."


def default_device() -> str:
    dev = os.environ.get("ZOO_DEMO_DEVICE")
    if dev:
        return dev
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class PipelineCache:
    """Keep the last ``size`` loaded pipelines (one full SD model is GBs: the default is 1)."""

    def __init__(self, size: Optional[int] = None) -> None:
        self.size = max(1, size if size is not None else env_int("ZOO_DEMO_CACHE", 1))
        self._items: OrderedDict[tuple, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model_id: str, techniques: Sequence[str] = (), keep: int = 1) -> Loaded:
        """The loaded pipeline; ``keep`` > size keeps that many for this call (two models compared side by
        side stay loaded together instead of evicting each other on every click)."""
        key = (model_id, tuple(sorted(techniques)))
        with self._lock:  # loading twice in parallel would double peak memory
            if key in self._items:
                self._items.move_to_end(key)
                hit = self._items[key]
                return Loaded(hit.pipe, hit.model_id, hit.random_weights, 0.0)
            while len(self._items) >= max(self.size, keep):
                self._items.popitem(last=False)  # drop before loading so two never coexist at size 1
                _free_memory()
            loaded = load_pipeline(model_id, list(key[1]))
            self._items[key] = loaded
            return loaded

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE: Optional[PipelineCache] = None


def cache() -> PipelineCache:
    """One cache per process, shared by every app in it (so memory holds ZOO_DEMO_CACHE models at most)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = PipelineCache()
    return _CACHE


def _free_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass


def load_pipeline(model_id: str, techniques: Sequence[str] = ()) -> Loaded:
    """Trained weights when they can be found; random init for ``-tiny`` ids or ZOO_DEMO_RANDOM_INIT=1."""
    from ..loading import load

    t0 = time.perf_counter()
    # ZOO_DEMO_DTYPE=fp16 halves memory and time on a GPU Space; CPU stays fp32 unless asked.
    kw = dict(device=default_device(), dtype=os.environ.get("ZOO_DEMO_DTYPE") or None,
              techniques=list(techniques) or None, progress=False)
    random_weights = random_init_forced()
    if random_weights:
        pipe = load(model_id, pretrained=False, **kw)
    else:
        try:
            pipe = load(model_id, pretrained=True, **kw)
        except WeightsNotFoundError as exc:
            if not is_tiny(model_id):
                how = "" if "zoo fetch" in str(exc) or "zoo train" in str(exc) else " " + weights_hint(model_id)
                raise DemoInputError(
                    f"No weights for {model_id}: {exc}{how} (Or restart the demo with ZOO_DEMO_RANDOM_INIT=1 "
                    f"to try it with random weights.)"
                ) from None
            pipe, random_weights = load(model_id, pretrained=False, **kw), True
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)  # the UI shows its own bar
    return Loaded(pipe, model_id, random_weights, time.perf_counter() - t0)


# -- inputs ----------------------------------------------------------------------------------
def check_prompt(prompt: Optional[str], required: bool = True) -> str:
    prompt = (prompt or "").strip()
    if required and not prompt:
        raise DemoInputError("Please enter a prompt: it is empty.")
    return prompt


def check_seed(seed: Any) -> int:
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise DemoInputError(f"Seed must be a whole number, got {seed!r}.") from None
    if not 0 <= s < 2**32:
        raise DemoInputError(f"Seed must be between 0 and {2**32 - 1}, got {s}.")
    return s


def check_steps(steps: Any, maximum: int = 200) -> int:
    try:
        n = int(steps)
    except (TypeError, ValueError):
        raise DemoInputError(f"Steps must be a whole number, got {steps!r}.") from None
    if not 1 <= n <= maximum:
        raise DemoInputError(f"Steps must be between 1 and {maximum}, got {n}.")
    return n


def open_image(path: Any, max_pixels: int, what: str = "The image") -> "Any":
    """Open an upload, refusing it *before* decoding when it has more than ``max_pixels``."""
    from PIL import Image

    if path is None:
        raise DemoInputError("Please upload an image first.")
    if isinstance(path, Image.Image):
        img = path
    else:
        try:
            img = Image.open(path)
        except Image.DecompressionBombError:
            raise DemoInputError(f"{what} is far too large to open; use one under {max_pixels:,} pixels.") from None
        except Exception as exc:
            raise DemoInputError(f"Cannot read the uploaded file as an image ({type(exc).__name__}).") from None
    w, h = img.size
    if w * h > max_pixels:
        side = int(max_pixels**0.5)
        raise DemoInputError(
            f"{what} is {w}×{h} = {w * h:,} pixels; this model takes at most {max_pixels:,} "
            f"(about {side}×{side}). Downscale or crop it first."
        )
    return to_rgb(img)


def check_min_side(img: "Any", min_side: int, what: str = "The image") -> None:
    """Refuse an image too small for the model (never shrink or stretch it silently)."""
    w, h = img.size
    if min(w, h) < min_side:
        raise DemoInputError(f"{what} is {w}×{h} pixels; this model needs at least {min_side}×{min_side}.")


def to_rgb(img: "Any") -> "Any":
    """Any PIL mode to 8-bit RGB, keeping what the pixels mean.

    ``convert("RGB")`` is wrong for two common cases: 16/32-bit grayscale (I;16, I, F) is
    clipped at 255, so a 16-bit PNG turns white; and transparent pixels keep whatever colour
    they hide. Here high-bit-depth images are rescaled to 0..255 by their type's range and
    alpha is composited over white.
    """
    import numpy as np
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(img)
        if mode.startswith("I;16"):
            a8 = a.astype(np.float64) / 65535.0
        elif mode == "I":
            # 32-bit ints: PNG 16-bit grayscale often opens as "I" with values 0..65535
            a8 = a.astype(np.float64) / (65535.0 if a.max(initial=0) > 255 else 255.0)
        else:  # float images: assume 0..1 when they fit, else their own range
            lo, hi = float(a.min(initial=0)), float(a.max(initial=1))
            a8 = a if (lo >= 0 and hi <= 1) else (a - lo) / max(hi - lo, 1e-12)
        g = np.clip(np.rint(a8 * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(g, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV: PIL's conversion is right


def fit_side(img: "Any", side: int, multiple: int) -> "Any":
    """Resize so the longer side is ``side`` (aspect kept), both sides a multiple of ``multiple``."""
    from PIL import Image

    w, h = img.size
    scale = side / max(w, h)
    nw = max(multiple, int(round(w * scale / multiple)) * multiple)
    nh = max(multiple, int(round(h * scale / multiple)) * multiple)
    return img if (nw, nh) == (w, h) else img.resize((nw, nh), Image.Resampling.LANCZOS)


# -- running ---------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def call_parameters(model_id: str) -> dict:
    """name -> inspect.Parameter of the model's pipeline ``__call__`` (to show only the controls it uses),
    following a subclass that forwards **kwargs to its bases; empty when the class cannot be found."""
    from ..loading import pipeline_class

    try:
        cls = pipeline_class(model_id)
    except ZooError:
        return {}
    out: dict = {}
    for klass in cls.__mro__:
        call = klass.__dict__.get("__call__")
        if call is None:
            continue
        params = inspect.signature(call).parameters
        for name, p in params.items():
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                out.setdefault(name, p)
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            break
    return out


def spec_params(model_id: str) -> frozenset:
    return frozenset(call_parameters(model_id))


def declared_tasks(model_id: str) -> tuple[str, ...]:
    """The values a pipeline's ``task=`` argument takes (MTU: edit | sr | inpaint | t2i), () without one.

    Allowed values: the class's ``TASKS`` (or a ``Literal`` annotation of ``task``); the spec's
    ``config['tasks']`` narrows them to the tasks this model was trained for."""
    import typing

    param = call_parameters(model_id).get("task")
    if param is None:
        return ()
    from ..loading import pipeline_class

    allowed = tuple(getattr(pipeline_class(model_id), "TASKS", ()) or ())
    if not allowed and typing.get_origin(param.annotation) is typing.Literal:
        allowed = typing.get_args(param.annotation)
    own = get_spec(model_id).config.get("tasks")
    if isinstance(own, (list, tuple)) and own and (not allowed or set(own) <= set(allowed)):
        return tuple(own)
    return allowed


def prompt_only_task(model_id: str) -> Optional[str]:
    """The first declared task that draws from the prompt alone (not in the class's ``CONDITIONED``, the tasks
    that take image=), for the text-to-image app; None without declared tasks."""
    from ..loading import pipeline_class

    tasks = declared_tasks(model_id)
    needs_image = set(getattr(pipeline_class(model_id), "CONDITIONED", ())) if tasks else set()
    return next((t for t in tasks if t not in needs_image), None)


def full_resolution(model_id: str) -> bool:
    """The pipeline returns any requested output size (``output_size=``, MobilePicasso): a large photo is
    edited at the model's own resolution and returned at the photo's."""
    return "output_size" in spec_params(model_id)


def compare_default(models: Sequence[str], main: str) -> Optional[str]:
    """A model to run beside ``main`` by default: one of the other kind of guidance (a guidance-free
    pipeline, which takes no ``guidance_scale``, vs a classifier-free-guided one) at the same resolution,
    that runs here (trained weights present, or a ``-tiny`` beside a ``-tiny``); None when there is none.
    Only plain editors pair: one with tasks or a full-resolution output is about those, not guidance."""
    def plain(m: str) -> bool:
        return not declared_tasks(m) and not full_resolution(m)

    if not plain(main):
        return None
    guided = "guidance_scale" in spec_params(main)
    res = get_spec(main).resolution
    others = [m for m in models if m != main and plain(m) and ("guidance_scale" in spec_params(m)) != guided
              and get_spec(m).resolution == res and (is_tiny(m) if is_tiny(main) else has_local_weights(m))]
    return preferred_default(others) if others else None


def call_kwargs(model_id: str, required: dict, **optional: Any) -> dict:
    """``required`` plus each optional argument the model's pipeline takes (blank text and None dropped)."""
    params = spec_params(model_id)
    kw = dict(required)
    for name, value in optional.items():
        if isinstance(value, str):
            value = value.strip() or None
        if value is not None and name in params:
            kw[name] = value
    return kw


def scheduler_total(pipe: Any) -> int:
    """Denoising steps of the current call, read from the scheduler once the pipeline has set it up."""
    ts = getattr(getattr(pipe, "scheduler", None), "timesteps", None)
    return (len(ts) if ts is not None else 0) or 1


def step_callback_kwargs(pipe: Any, on_step: Callable[[int, int], None]) -> dict:
    """Keyword arguments that make ``pipe(...)`` call ``on_step(done, total)`` after each step.

    Newer pipelines take ``callback_on_step_end``; older ones (the x4 upscaler, PixArt) only
    ``callback``/``callback_steps``; others (DiT) none, and ``run`` counts denoiser calls instead.
    """
    params = inspect.signature(pipe.__call__).parameters
    if "callback_on_step_end" in params:
        def cb(p, i, t, kw):
            on_step(i + 1, scheduler_total(pipe))
            return kw

        return {"callback_on_step_end": cb}
    if "callback" in params:
        return {"callback": lambda i, t, latents: on_step(i + 1, scheduler_total(pipe)), "callback_steps": 1}
    return {}


@dataclass
class DenoiserCalls:
    """What a forward hook on the pipeline's denoiser saw during one call."""

    calls: int = 0  # forward calls
    rows: int = 0  # samples it ran: CFG's branches, batched into one call by diffusers, count one each
    images: int = 1

    @property
    def passes(self) -> int:
        """Denoiser passes per output image (= calls without guidance; 3 x calls for InstructPix2Pix CFG)."""
        return self.rows // max(1, self.images)

    def text(self) -> str:
        if not self.calls:
            return ""
        per = self.passes // self.calls if self.passes % self.calls == 0 else None
        how = f"{self.calls} calls × {per} batched branches" if per and per > 1 else f"{self.calls} calls"
        return f"denoiser: **{self.passes} passes** ({how}), counted by a hook on the denoiser"


@contextlib.contextmanager
def count_denoiser_calls(pipe: Any, on_call: Optional[Callable[[int], None]] = None):
    """Count forward calls (and batch rows) of the pipeline's denoiser (``unet``, ``transformer``) while inside."""
    from ..capabilities import denoiser_of

    seen = DenoiserCalls()
    den = denoiser_of(pipe)
    if den is None or not hasattr(den, "register_forward_hook"):
        yield seen
        return

    def hook(module: Any, args: tuple, kwargs: dict, out: Any) -> None:
        x = args[0] if args else next((kwargs[k] for k in ("sample", "hidden_states") if k in kwargs), None)
        seen.calls += 1
        seen.rows += int(x.shape[0]) if getattr(x, "shape", None) else 1
        if on_call is not None:
            on_call(seen.calls)

    handle = den.register_forward_hook(hook, with_kwargs=True)
    try:
        yield seen
    finally:
        handle.remove()


def run_counted(pipe: Any, kwargs: dict, seed: int, on_step: Optional[Callable[[int, int], None]] = None
                ) -> tuple[Any, float, DenoiserCalls]:
    """Run the pipeline once; return (first image, seconds, denoiser calls seen by a forward hook)."""
    import torch

    device = getattr(pipe, "device", torch.device("cpu"))
    gen = torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(seed)
    by_callback = step_callback_kwargs(pipe, on_step) if on_step is not None else {}
    # without a step callback the bar follows the denoiser's calls (one per step, CFG branches batched)
    on_call = (lambda n: on_step(n, scheduler_total(pipe))) if on_step is not None and not by_callback else None
    t0 = time.perf_counter()
    with torch.inference_mode(), count_denoiser_calls(pipe, on_call) as calls:
        out = pipe(**kwargs, **by_callback, generator=gen)
    seconds = time.perf_counter() - t0
    calls.images = len(out.images)
    return out.images[0], seconds, calls


def run(pipe: Any, kwargs: dict, seed: int, on_step: Optional[Callable[[int, int], None]] = None) -> tuple[Any, float]:
    """Run the pipeline once; return (first image, seconds)."""
    img, seconds, _ = run_counted(pipe, kwargs, seed, on_step)
    return img, seconds


def upscale_image(pipe: Any, kwargs: dict, img: "Any", scale: int, seed: int, tile: int, context: int,
                  multiple: int, on_step: Optional[Callable[[int, int], None]] = None) -> tuple[Any, float]:
    """Upscale ``img`` by ``scale``: in one pass when it fits in one padded tile (``tile`` + 2 x
    ``context`` pixels a side), else in disjoint ``tile``-pixel tiles each padded with ``context``
    pixels of real neighbour content (``zoo.tiling.context_tiled``: 0% overlap, no blending). Sides
    are edge-padded to a multiple of ``multiple`` and the output cropped back, so every input pixel
    maps to exactly ``scale``² output pixels (the pipeline's own resize would shrink odd sizes)."""
    import numpy as np
    import torch
    from PIL import Image

    from ..tiling import context_tiled

    w, h = img.size
    pw, ph = -(-w // multiple) * multiple, -(-h // multiple) * multiple
    arr = np.pad(np.asarray(img), ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    if max(pw, ph) <= tile + 2 * context:
        out, seconds = run(pipe, {**kwargs, "image": Image.fromarray(arr)}, seed, on_step)
        return out.crop((0, 0, w * scale, h * scale)), seconds
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.0
    n_tiles = -(-ph // tile) * -(-pw // tile)
    done_tiles, seconds = [0], [0.0]

    def one_tile(t: Any) -> Any:
        k = done_tiles[0]
        # one bar over all tiles: step i of tile k is step k*total + i of n_tiles*total
        step = None if on_step is None else (lambda i, total: on_step(k * total + i, n_tiles * total))
        part = Image.fromarray((t[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8))
        y, s = run(pipe, {**kwargs, "image": part}, seed, step)
        done_tiles[0] += 1
        seconds[0] += s
        return torch.from_numpy(np.asarray(y.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]

    y = context_tiled(one_tile, x, tile=tile, context=context, scale=scale, align=multiple)
    full = Image.fromarray((y[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0).round().astype(np.uint8))
    return full.crop((0, 0, w * scale, h * scale)), seconds[0]


def save_png(img: "Any", model_id: str, seed: int, keep: int = 32) -> str:
    """Write the output as PNG for the download button; gradio copies it into its own cache, so
    only the newest ``keep`` files are kept here (a long-running Space would fill the disk)."""
    folder = Path(tempfile.gettempdir()) / f"zoo-demo-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    path = folder / f"{model_id}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}-{time.perf_counter_ns() % 10**6}.png"
    img.save(path, format="PNG")
    for old in sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime)[:-keep]:
        old.unlink(missing_ok=True)
    return str(path)
