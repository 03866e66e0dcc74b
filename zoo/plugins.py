"""Plugin manager: entry-point discovery with per-plugin failure isolation.

Environment:
  ZOO_PLUGINS         comma-separated plugin names to load (default: all installed)
  ZOO_STRICT_PLUGINS  '1' makes any plugin load error fatal (CI)
"""
from __future__ import annotations

import importlib.metadata as md
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Optional

import pluggy

from . import hookspecs
from .errors import PluginLoadError

ENTRY_POINT_GROUP = "ondevice_diffusion_zoo"
ENV_ALLOW = "ZOO_PLUGINS"
ENV_STRICT = "ZOO_STRICT_PLUGINS"


@dataclass
class PluginInfo:
    name: str
    module: Optional[str] = None
    version: Optional[str] = None
    distribution: Optional[str] = None
    hooks: list[str] = field(default_factory=list)
    error: Optional[str] = None
    detail: Optional[str] = None  # full traceback of the error

    @property
    def ok(self) -> bool:
        return self.error is None


def _strict() -> bool:
    return os.environ.get(ENV_STRICT, "").lower() in {"1", "true", "yes"}


def _allowed() -> Optional[set[str]]:
    raw = os.environ.get(ENV_ALLOW)
    if raw is None or not raw.strip():
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


class PluginManager:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        allowed = _allowed()
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allowed is not None and ep.name not in allowed:
                continue
            if ep.name in self.infos:  # the same distribution seen twice on sys.path
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                version=getattr(dist, "version", None),
                distribution=getattr(dist, "name", None),
            )
            try:
                obj = ep.load()
                self.register(obj, ep.name, info)
            except Exception as exc:  # one plugin must not break the others
                self.record_error(info, exc)

    def register(self, obj: Any, name: str, info: Optional[PluginInfo] = None) -> PluginInfo:
        """Register a plugin object (module or class instance) under ``name``."""
        info = info or PluginInfo(name=name, module=getattr(obj, "__name__", type(obj).__name__))
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:
            self.record_error(info, exc)
            return info
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(obj) or [])
        self.infos[name] = info
        return info

    def unregister(self, name: str) -> None:
        obj = self.pm.get_plugin(name)
        if obj is not None:
            self.pm.unregister(obj)
        self.infos.pop(name, None)

    def record_error(self, info: PluginInfo, exc: BaseException) -> None:
        info.error = f"{type(exc).__name__}: {exc}"
        info.detail = "".join(traceback.format_exception(exc))
        self.infos[info.name] = info
        if _strict():
            raise PluginLoadError(f"plugin {info.name!r} failed to load: {info.error}") from exc

    # -- calling ---------------------------------------------------------------------------
    def impls(self, hook: str):
        """(plugin_name, function) for every implementation of ``hook``."""
        caller = getattr(self.pm.hook, hook)
        return [(impl.plugin_name, _bind(impl)) for impl in caller.get_hookimpls()]

    def call_owner(self, plugin: Optional[str], hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one plugin only (the owner of a model); None if it lacks the hook."""
        for name, fn in self.impls(hook):
            if name == plugin:
                return fn(**kwargs)
        return None


def known_hooks() -> set[str]:
    """Hook names declared in zoo.hookspecs (an implementation of any other name is never called)."""
    return {n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), f"{hookspecs.PROJECT}_spec")}


def failed_plugins(reg: Any = None) -> list[str]:
    """Plugins that failed to load or whose register hook raised (non-strict mode keeps going)."""
    if reg is None:
        from .registry import get_registry

        reg = get_registry()
    return sorted({n for n, i in get_plugin_manager().infos.items() if i.error} | set(reg.errors))


def failed_note() -> str:
    failed = failed_plugins()
    if not failed:
        return ""
    return f"{len(failed)} plugin(s) failed to load and their models are missing: {', '.join(failed)} (see `zoo plugins`)"


def _bind(impl):
    """pluggy lets an implementation take a subset of the spec's arguments: pass only those."""

    def call(**kwargs: Any) -> Any:
        return impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})

    return call


_manager: Optional[PluginManager] = None


def get_plugin_manager() -> PluginManager:
    global _manager
    if _manager is None:
        m = PluginManager()
        m.load_entry_points()
        _manager = m
    return _manager


def reset() -> None:
    """Forget loaded plugins and the registry (tests, or after installing a plugin)."""
    global _manager
    _manager = None
    from . import registry

    registry.reset()
