"""Applying ``edit`` / ``mm-edit`` to a built pipeline or transformer, and building the registered
converted models (upstream teacher + conversion)."""
from __future__ import annotations

from typing import Any

from zoo import ModelSpec, ZooError, get_spec

from .config import parse

EXPECTED = {"edit": "PixArtTransformer2DModel", "mm-edit": "SD3Transformer2DModel"}


def transformer_of(model: Any) -> Any:
    return getattr(model, "transformer", model)


def apply_edit(technique_id: str, model: Any, config: dict) -> Any:
    """Convert the model's transformer in place (options checked first); load distilled weights if given."""
    opts = parse(technique_id, config)
    t = transformer_of(model)
    name = type(t).__name__
    if name.startswith(("EDiT", "MMEDiT")):
        raise ZooError(f"{technique_id}: the transformer is already converted ({name})")
    if name != EXPECTED[technique_id]:
        raise ZooError(f"{technique_id} converts a {EXPECTED[technique_id]}, but this model's transformer is a {name}")
    if opts.weights is not None and not opts.weights.is_file():
        raise ZooError(f"{technique_id}: weights file {opts.weights} not found (write one with "
                       "`zoo train ID --recipe edit-distill --out DIR`)")
    from .models import convert

    convert(t, **opts.fields())
    if t is not model and hasattr(model, "register_modules"):  # model_index.json must name the new class
        model.register_modules(transformer=t)
    if opts.weights is not None:
        load_transformer_weights(t, opts.weights)
    return model


def remove(model: Any) -> Any:
    """Undo ``edit`` / ``mm-edit`` on a pipeline or transformer in place: the stock diffusers transformer
    class, its original attention processors and config again, the new modules dropped. Weights that
    distillation trained (the converted layers' projections) stay as trained; on an undistilled
    conversion the model computes exactly what it did before."""
    t = transformer_of(model)
    if not type(t).__name__.startswith(("EDiT", "MMEDiT")):
        raise ZooError(f"EDiT is not applied to this model (its transformer is a {type(t).__name__})")
    from .models import unconvert

    unconvert(t)
    if t is not model and hasattr(model, "register_modules"):  # model_index.json names the stock class again
        model.register_modules(transformer=t)
    return model


def load_transformer_weights(transformer: Any, path: Any) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path))
    missing, unexpected = transformer.load_state_dict(state, strict=False)
    if unexpected or missing:
        raise ZooError(f"{path} does not fit this converted transformer ({len(missing)} missing, "
                       f"{len(unexpected)} unexpected keys, e.g. {(missing or unexpected)[0]})")


def build_converted(spec: ModelSpec) -> Any:
    """The upstream teacher's pipeline (from its spec's configs) with the conversion applied."""
    from zoo.building import build_from_config

    pipe = build_from_config(get_spec(spec.config["base"]).config)
    return apply_edit(spec.config["technique"], pipe, spec.config.get("options", {}))
