"""The registry of model and technique specs, filled by the plugins' register hooks."""
from __future__ import annotations

import difflib
import fnmatch
from typing import Iterable, Optional

from .errors import RegistryCollisionError, UnknownModelError
from .specs import ModelSpec, TechniqueSpec


class Registry:
    def __init__(self) -> None:
        self.models: dict[str, ModelSpec] = {}
        self.aliases: dict[str, str] = {}
        self.techniques: dict[str, TechniqueSpec] = {}
        self.errors: dict[str, str] = {}  # plugin -> error raised by its register hook

    # -- filling ---------------------------------------------------------------------------
    def add_model(self, spec: ModelSpec, plugin: Optional[str] = None) -> ModelSpec:
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"register() takes a zoo.ModelSpec, got {type(spec).__name__}")
        spec = spec.model_copy(update={"plugin": plugin or spec.plugin})
        for name in [spec.id, *spec.aliases]:
            owner = self._owner_of(name)
            if owner is not None:
                raise RegistryCollisionError(
                    f"model id {name!r} registered twice: by plugin {owner!r} and by plugin {spec.plugin!r}"
                )
        self.models[spec.id] = spec
        for a in spec.aliases:
            self.aliases[a] = spec.id
        return spec

    def add_technique(self, spec: TechniqueSpec, plugin: Optional[str] = None) -> TechniqueSpec:
        if not isinstance(spec, TechniqueSpec):
            raise TypeError(f"register() takes a zoo.TechniqueSpec, got {type(spec).__name__}")
        spec = spec.model_copy(update={"plugin": plugin or spec.plugin})
        if spec.id in self.techniques:
            raise RegistryCollisionError(
                f"technique id {spec.id!r} registered twice: by plugin "
                f"{self.techniques[spec.id].plugin!r} and by plugin {spec.plugin!r}"
            )
        self.techniques[spec.id] = spec
        return spec

    def _owner_of(self, name: str) -> Optional[str]:
        if name in self.models:
            return self.models[name].plugin or "?"
        if name in self.aliases:
            return self.models[self.aliases[name]].plugin or "?"
        return None

    # -- reading ---------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelSpec:
        if model_id in self.models:
            return self.models[model_id]
        if model_id in self.aliases:
            return self.models[self.aliases[model_id]]
        raise UnknownModelError(_unknown("model", model_id, [*self.models, *self.aliases]) + _failed_suffix(self))

    def technique(self, technique_id: str) -> TechniqueSpec:
        if technique_id in self.techniques:
            return self.techniques[technique_id]
        raise UnknownModelError(_unknown("technique", technique_id, list(self.techniques)))

    def list(self, pattern: str | Iterable[str] = "*", task: Optional[str] = None) -> list[ModelSpec]:
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        out = [
            s
            for s in self.models.values()
            if any(fnmatch.fnmatchcase(s.id, p) or any(fnmatch.fnmatchcase(a, p) for a in s.aliases) for p in patterns)
            and (task is None or s.task == task)
        ]
        return sorted(out, key=lambda s: s.id)


def _failed_suffix(reg: "Registry") -> str:
    """An unknown id may belong to a plugin that failed to load: say so."""
    from .plugins import failed_plugins

    failed = failed_plugins(reg)
    return f" Plugins that failed to load: {', '.join(failed)} (see `zoo plugins`)." if failed else ""


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"unknown {kind} id {name!r}.{hint} Run `zoo list` to see all."


_registry: Optional[Registry] = None
_filling = False


def get_registry() -> Registry:
    """The registry, filled on first use from every loaded plugin (errors isolated per plugin)."""
    global _registry, _filling
    if _registry is None:
        if _filling:
            raise RuntimeError("a register hook queried the registry while it is being filled: "
                               "read other specs inside build/train hooks, not in register_models")
        from .plugins import _strict, get_plugin_manager

        pm = get_plugin_manager()
        reg = Registry()
        _filling = True
        try:
            for hook, add in (("register_models", reg.add_model), ("register_techniques", reg.add_technique)):
                for plugin, fn in pm.impls(hook):
                    try:
                        fn(register=lambda spec, _p=plugin, _add=add: _add(spec, _p))
                    except RegistryCollisionError:
                        raise
                    except Exception as exc:
                        reg.errors[plugin] = f"{hook}: {type(exc).__name__}: {exc}"
                        if _strict():
                            raise
        finally:
            _filling = False
        _registry = reg
    return _registry


def reset() -> None:
    global _registry
    _registry = None


def list_models(pattern: str | Iterable[str] = "*", task: Optional[str] = None) -> list[str]:
    """Ids of registered models matching a wildcard pattern, e.g. ``list_models("nanosd-*")``."""
    return [s.id for s in get_registry().list(pattern, task)]


def get_spec(model_id: str) -> ModelSpec:
    """The registered ``ModelSpec`` of ``model_id`` (or an alias); ``UnknownModelError`` with the
    closest ids otherwise. Plain data: no torch is imported."""
    return get_registry().get(model_id)


def list_techniques(model_id: Optional[str] = None) -> list[str]:
    """Ids of all registered techniques, or of those that apply to ``model_id`` (its
    ``TechniqueSpec.applies_to`` patterns match the id or the family)."""
    reg = get_registry()
    if model_id is None:
        return sorted(reg.techniques)
    spec = reg.get(model_id)
    return sorted(t.id for t in reg.techniques.values() if t.applies(spec))
