"""`zoo.build` and `zoo.load`: from an id to a ready pipeline or model."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from . import hub
from .building import build_from_config
from .capabilities import install_refusals
from .errors import CorruptWeightsError, WeightsNotFoundError, ZooError, one_line
from .plugins import get_plugin_manager
from .refs import parse_ref
from .registry import get_registry
from .specs import ModelSpec
from .validate import check_device, check_dtype, techniques_list

SPEC_ATTR = "_zoo_spec"


def spec_of(model: Any) -> Optional[ModelSpec]:
    """The ModelSpec a model was built from (None for a plain diffusers object)."""
    return getattr(model, SPEC_ATTR, None)


def _spec(spec_or_id: Union[str, ModelSpec]) -> ModelSpec:
    return spec_or_id if isinstance(spec_or_id, ModelSpec) else get_registry().get(spec_or_id)


def build(spec_or_id: Union[str, ModelSpec], device: Optional[str] = None, empty: bool = False) -> Any:
    """Build a model at full size with random weights (no download).

    ``device='meta'`` builds without allocating weights (params and MACs of full-size models);
    ``empty=True`` leaves parameters unallocated for a following weight load.
    """
    spec = _spec(spec_or_id)
    check_device(device)
    import torch

    if device == "meta":
        ctx: Any = torch.device("meta")
    elif empty:
        from accelerate import init_empty_weights

        ctx = init_empty_weights(include_buffers=False)
    else:
        ctx = contextlib.nullcontext()
    with ctx:
        model = get_plugin_manager().call_owner(spec.plugin, "build_model", spec=spec)
        if model is None:
            if not spec.config:
                raise ZooError(f"plugin {spec.plugin!r} has no build_model hook and {spec.id} has no config to build from")
            model = build_from_config(spec.config)
    _eval_mode(model)
    _tag(model, spec)
    return model


def pipeline_class(spec_or_id: Union[str, ModelSpec]) -> type:
    """The class a registered model builds (``spec.pipeline_class``), without building it: a diffusers
    class, or one the owning plugin's package exports. A plugin composing another plugin's model uses
    this instead of importing that plugin (``zoo.pipeline_class("tocsr-x4")`` is TOCSRPipeline)."""
    spec = _spec(spec_or_id)
    name = spec.pipeline_class
    if not name:
        raise ZooError(f"{spec.id} declares no pipeline_class (it is a {spec.task!r} model, not a pipeline)")
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None and spec.plugin:
        cls = getattr(get_plugin_manager().pm.get_plugin(spec.plugin), name, None)
    if not isinstance(cls, type):
        raise ZooError(f"{spec.id}: pipeline class {name!r} is neither in diffusers nor exported by its plugin "
                       f"{spec.plugin!r} (export it from the package, e.g. with zoo.lazy_exports)")
    return cls


def _eval_mode(model: Any) -> None:
    """Inference mode, as diffusers' from_pretrained returns models (training mode would drop
    DiT's class labels at random and run dropout); training code calls .train() itself."""
    for comp in (model.components.values() if hasattr(model, "components") else [model]):
        if hasattr(comp, "eval") and hasattr(comp, "training"):
            comp.eval()


def _tag(model: Any, spec: ModelSpec) -> None:
    try:
        object.__setattr__(model, SPEC_ATTR, spec)
    except Exception:
        pass
    # capabilities the spec declares unsupported answer with a one-line error (zoo.capabilities)
    install_refusals(model, spec.id, spec.unsupported)


def _is_module(obj: Any) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def load_weights(model: Any, folder: Path, dtype: Any = None, borrowed: Optional[Mapping[str, Path]] = None) -> Any:
    """Load safetensors weights from a diffusers-layout folder into ``model`` (pipeline or module).
    ``borrowed``: component name -> folder, for components ``folder`` does not hold itself."""
    hub.verify_manifest(folder)
    if _is_module(model):
        sub = folder if (folder / "config.json").exists() else _single_component_dir(folder)
        return _from_pretrained(type(model), sub, dtype)
    new = {}
    for name, comp in model.components.items():
        sub = folder / name
        if not sub.is_dir() and name in (borrowed or {}):
            sub = borrowed[name]
        if comp is None:
            continue
        if _is_module(comp):
            if not sub.is_dir():
                raise WeightsNotFoundError(f"{folder} has no '{name}/' folder for component {name}")
            new[name] = _from_pretrained(type(comp), sub, dtype)
        elif sub.is_dir() and hasattr(comp, "from_pretrained"):
            with reading(sub):  # tokenizers and schedulers: json/txt only
                new[name] = type(comp).from_pretrained(str(sub))
    model.register_modules(**new)
    return model


def load_folder(spec: ModelSpec, folder: Path, dtype: Any = None) -> Any:
    """``spec``'s model with the weights of ``folder``. A pipeline folder written by `zoo push`
    loads component by component as diffusers would, with the plugin's classes for its own
    components; anything else goes through a weightless build of ``spec`` (whose components name
    the classes). Building first cost as much as loading again (measured: benchmarks/bench_load.py)."""
    fast = _load_pushed_pipeline(folder, dtype)
    if fast is not None:
        return fast
    return load_weights(build(spec, empty=True), folder, dtype, _borrowed(spec))


def _borrowed(spec: Optional[ModelSpec]) -> dict[str, Path]:
    """``spec.config["weights_from"]`` ({component: "OTHER-ID/SUBFOLDER"}): components whose weights are
    another registered model's (a frozen base), so ``spec``'s own folder ships only what it trained."""
    out = {}
    for name, ref in ((spec.config.get("weights_from") if spec else None) or {}).items():
        other, _, sub = str(ref).partition("/")
        base = hub.resolve(get_registry().get(other), progress=False)
        hub.verify_manifest(base)
        out[name] = base / (sub or name)
    return out


def _load_pushed_pipeline(folder: Path, dtype: Any) -> Any:
    """Each component of model_index.json loaded by its class (the plugin's for the zoo's own),
    then the pipeline assembled: what diffusers' from_pretrained does, without building first."""
    import importlib
    import json

    from .remote_code import component_classes

    index_path = folder / "model_index.json"
    if not (folder / hub.SPEC_FILE).exists() or not index_path.exists():
        return None
    try:
        index = json.loads(index_path.read_text())
        own = component_classes(index)
        pipe_cls = getattr(importlib.import_module("diffusers"), index["_class_name"])
    except (ValueError, KeyError, AttributeError, TypeError):
        return None
    if own is None:
        return None
    hub.verify_manifest(folder)
    comps: dict[str, Any] = {}
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list):
            continue
        if entry[0] is None:
            comps[name] = None
            continue
        cls = own.get(name) or getattr(importlib.import_module(entry[0]), entry[1])
        sub = folder / name
        if isinstance(cls, type) and issubclass(cls, _torch_module()):
            comps[name] = _from_pretrained(cls, sub, dtype)
        else:
            with reading(sub):  # tokenizers and schedulers: json/txt only
                comps[name] = cls.from_pretrained(str(sub))
    extra = {k: v for k, v in index.items() if not k.startswith("_") and not isinstance(v, list)}
    with reading(folder):
        pipe = pipe_cls(**comps, **extra)
    _eval_mode(pipe)
    return pipe


def _torch_module() -> type:
    import torch

    return torch.nn.Module


def _single_component_dir(folder: Path) -> Path:
    subs = [p.parent for p in folder.glob("*/config.json")]
    if len(subs) != 1:
        raise WeightsNotFoundError(f"{folder} holds no single model folder (config.json + safetensors)")
    return subs[0]


def _from_pretrained(cls: type, folder: Path, dtype: Any) -> Any:
    hub.check_safe(folder)
    if not any(folder.glob("*.safetensors")):
        raise WeightsNotFoundError(f"no .safetensors weights in {folder}")
    kw = {"torch_dtype": dtype} if dtype is not None else {}
    with reading(folder):
        return cls.from_pretrained(str(folder), use_safetensors=True, **kw)


@contextlib.contextmanager
def reading(folder: Path):
    """A folder whose files cannot be read (broken JSON, truncated or foreign safetensors,
    weights of another shape) is a one-line CorruptWeightsError naming the folder."""
    from safetensors import SafetensorError

    try:
        yield
    except ZooError:
        raise
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise CorruptWeightsError(f"cannot read the model in {folder}: {one_line(exc)}") from exc


def load(
    model_id: str,
    pretrained: bool = True,
    revision: Optional[str] = None,
    weights: Optional[str | Path] = None,
    device: Optional[str] = None,
    dtype: Any = None,
    techniques: Union[Iterable[str], Mapping[str, dict], None] = None,
    progress: bool = True,
) -> Any:
    """Return a ready diffusers pipeline (or model, for component ids).

    ``model_id``: a registered id (``"nanosd-s"``, an alias, see ``zoo.list_models``), or
    ``"hf-hub:ORG/NAME[@REV]"`` (a repo written by ``zoo push``, or any diffusers repo), or
    ``"local-dir:PATH"`` (such a folder).

    ``pretrained=True`` resolves weights: the explicit ``weights`` folder, else
    ``$ZOO_MODELS_DIR/<id>``, else the Hugging Face cache, else the Hub at the spec's pinned
    ``revision`` (``revision=`` overrides it; never under ``HF_HUB_OFFLINE=1``). Only safetensors
    are read and files are checked against the sha256 manifest ``zoo push`` wrote.
    ``pretrained=False`` builds the full-size architecture with random weights (no download).

    ``device`` (``"cpu"``, ``"cuda"``, ``"mps"``) and ``dtype`` (``"fp32"``, ``"fp16"``, ``"bf16"`` or a
    torch dtype) place the result. ``techniques``: ids to apply (``["attention-reuse"]``) or
    ``{id: options}``; each must apply to the model (``zoo.list_techniques(id)``) and is applied by
    the plugin that registered it. ``progress=False`` hides download bars.

    Raises ``UnknownModelError`` (with suggestions), ``WeightsNotFoundError`` (saying how to get
    them), ``CorruptWeightsError``, ``UnsafeCheckpointError`` and ``InvalidInputError``: all
    ``ZooError``, one line each.
    """
    # Check every argument before anything is built or downloaded.
    dtype = _dtype(dtype)
    device = check_device(device)
    techniques = techniques_list(techniques)
    ref = parse_ref(model_id)
    if ref.kind == "registered":
        spec = get_registry().get(ref.name)
        _check_techniques(spec, techniques)
        if pretrained:
            folder = hub.resolve(spec, weights=weights, revision=revision, progress=progress, display=model_id)
            with _repair_hint(folder, model_id, revision):
                model = load_folder(spec, folder, dtype)
        else:
            model = build(spec)
    else:
        folder = (
            hub.resolve(None, weights=weights, repo=ref.name, revision=revision or ref.revision, progress=progress,
                        display=model_id)
            if ref.kind == "hf-hub"
            else Path(ref.name).expanduser()
        )
        if not folder.is_dir():
            raise WeightsNotFoundError(f"{folder} is not a folder")
        spec = hub.read_spec_file(folder)
        if spec is not None:
            _check_techniques(spec, techniques)
        with _repair_hint(folder, model_id, revision):
            model = load_folder(spec, folder, dtype) if spec else _load_plain(folder, dtype)
    if spec is not None:
        _tag(model, spec)
        model = apply_techniques(model, spec, techniques)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype) if hasattr(model, "components") else model.to(device or "cpu", dtype)
    return model


@contextlib.contextmanager
def _repair_hint(folder: Path, model_id: str, revision: Optional[str]):
    """Damaged files: in the Hub cache `zoo fetch` re-downloads them (it checks every hash);
    elsewhere the user must replace them."""
    try:
        yield
    except CorruptWeightsError as exc:
        if hub._in_hf_cache(folder):
            fix = f"Repair the cached copy with `{hub.fetch_command(model_id, revision)}`."
        else:
            fix = f"Replace the damaged files in {folder}."
        raise CorruptWeightsError(f"{one_line(exc)} {fix}") from exc


def _dtype(dtype: Any) -> Any:
    return check_dtype(dtype)


def _load_plain(folder: Path, dtype: Any) -> Any:
    """A diffusers folder written by someone else (no zoo spec): let diffusers read it, safetensors only."""
    import diffusers

    for sub in [folder, *[p for p in folder.iterdir() if p.is_dir()]]:
        hub.check_safe(sub)
    kw = {"torch_dtype": dtype} if dtype is not None else {}
    if (folder / "model_index.json").exists():
        with reading(folder):
            return diffusers.DiffusionPipeline.from_pretrained(str(folder), use_safetensors=True, **kw)
    if (folder / "config.json").exists():
        with reading(folder):
            cls_name = json.loads((folder / "config.json").read_text()).get("_class_name")
        cls = getattr(diffusers, cls_name or "", None)
        if cls is None:
            raise ZooError(f"{folder}/config.json names no diffusers class ({cls_name!r})")
        with reading(folder):
            return cls.from_pretrained(str(folder), use_safetensors=True, **kw)
    raise WeightsNotFoundError(f"{folder} is not a diffusers folder (no model_index.json or config.json)")


def _check_techniques(spec: ModelSpec, techniques: Any) -> list[tuple[str, dict]]:
    """Each technique exists and applies to ``spec`` (checked before building)."""
    items = techniques_list(techniques) or []
    reg = get_registry()
    for tid, _ in items:
        t = reg.technique(tid)
        if not t.applies(spec):
            raise ZooError(f"technique {tid!r} does not apply to {spec.id} (it applies to {', '.join(t.applies_to)})")
    return items


def apply_techniques(model: Any, spec: ModelSpec, techniques: Union[Iterable[str], Mapping[str, dict], None]) -> Any:
    items = _check_techniques(spec, techniques)
    if not items:
        return model
    reg = get_registry()
    for tid, cfg in items:
        t = reg.technique(tid)
        out = get_plugin_manager().call_owner(t.plugin, "apply_technique", technique=t, spec=spec, model=model, config=dict(cfg or {}))
        if out is None:
            raise ZooError(f"plugin {t.plugin!r} registered {tid!r} but did not apply it")
        model = out
        _tag(model, spec)
    return model
