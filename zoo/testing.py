"""Contract-test kit for plugin authors.

    from zoo.testing import check_plugin
    def test_contract():
        check_plugin("myplugin")          # the entry-point name of your plugin

It checks that the plugin loads, that its specs are valid and cheap to list (no torch import),
that each family has a ``-tiny`` variant, that its hooks are known, that its tiny models
build through the same code path as full-size ones, and that each ``-tiny`` pipeline passes the
conformance kit (``check_conformance``, from ``zoo.conformance``): what a diffusers user does
with the stock pipeline of the same class works on it, or is declared in
``ModelSpec.unsupported`` and refused with a one-line error.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from typing import Any, Iterator, Optional

from .conformance import (  # noqa: F401 - the public kit
    CHECKS, ConformanceError, check_conformance, conformance_ids, conformance_report, raise_failures,
)
from .errors import ZooError


@contextlib.contextmanager
def temporary_plugin(obj: Any, name: str) -> Iterator[Any]:
    """Register a plugin object (module or instance with @zoo.hookimpl methods) for a block."""
    from . import registry
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    info = pm.register(obj, name)
    if info.error:
        raise ZooError(f"plugin {name!r} failed to register: {info.error}")
    registry.reset()
    try:
        yield pm
    finally:
        pm.unregister(name)
        registry.reset()


def plugin_specs(plugin: str) -> list:
    from .registry import get_registry

    reg = get_registry()
    return [s for s in reg.models.values() if s.plugin == plugin]


def check_listing_is_light(plugin: str) -> None:
    """Listing and `zoo info` must not import torch, diffusers or gradio: checked in a fresh interpreter."""
    code = (
        "import sys, json, zoo\n"
        f"specs=[s for s in zoo.get_registry().models.values() if s.plugin=={plugin!r}]\n"
        "[s.model_dump_json() for s in specs]\n"
        "print(json.dumps({'n': len(specs), 'heavy': sorted(m for m in ('torch','diffusers','gradio','transformers') if m in sys.modules)}))\n"
    )
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"listing plugin {plugin!r} failed:\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["heavy"]:
        raise AssertionError(f"listing plugin {plugin!r} imported {res['heavy']}: keep heavy imports inside functions")


def check_plugin(plugin: str, build_tiny: bool = True, run_tiny: Optional[Any] = None, conformance: bool = True) -> list:
    """Run the plugin contract; raises AssertionError on the first broken rule. Returns its specs.

    ``conformance`` runs the conformance kit on each ``-tiny`` pipeline (ConformanceError lists
    every failed check)."""
    from . import hookspecs
    from .plugins import get_plugin_manager
    from .registry import get_registry

    pm = get_plugin_manager()
    info = pm.infos.get(plugin)
    assert info is not None, f"plugin {plugin!r} is not loaded (entry points: `zoo plugins`)"
    assert info.ok, f"plugin {plugin!r} failed to load: {info.error}"
    known = {n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "ondevice_diffusion_zoo_spec")}
    unknown = set(info.hooks) - known
    assert not unknown, f"plugin {plugin!r} implements unknown hooks {sorted(unknown)}"
    reg = get_registry()
    assert plugin not in reg.errors, f"plugin {plugin!r} register hook failed: {reg.errors.get(plugin)}"
    specs = plugin_specs(plugin)
    techniques = [t for t in reg.techniques.values() if t.plugin == plugin]
    assert specs or techniques, f"plugin {plugin!r} registered no models and no techniques"
    families = {s.family for s in specs}
    for fam in families:
        assert any(s.family == fam and s.id.endswith("-tiny") for s in specs), (
            f"family {fam!r} of plugin {plugin!r} has no '-tiny' variant for tests"
        )
    for s in specs:
        assert s.id.startswith(s.family), f"{s.id}: id must start with its family {s.family!r}"
        assert s.task == "component" or s.pipeline_class, (
            f"{s.id}: set pipeline_class (the diffusers pipeline it builds): the demos read its call arguments")
        for c in s.components:
            assert all(all(isinstance(d, int) and d > 0 for d in shape) for shape in c.inputs.values()), (
                f"{s.id}.{c.name}: export shapes must be static positive ints"
            )
        for k, ch in s.choices.items():
            assert ch.why.strip(), f"{s.id}: choice {k!r} must say why"
    for t in techniques:
        assert t.applies_to, f"technique {t.id} must declare which models it applies to"
        assert "apply_technique" in info.hooks, f"plugin {plugin!r} registers techniques but has no apply_technique hook"
    check_listing_is_light(plugin)
    if build_tiny:
        from .loading import build, spec_of

        for s in specs:
            if s.id.endswith("-tiny"):
                model = build(s)
                assert spec_of(model) is not None and spec_of(model).id == s.id
                if s.pipeline_class:
                    assert type(model).__name__ == s.pipeline_class, (
                        f"{s.id}: spec.pipeline_class is {s.pipeline_class!r} but the build gave {type(model).__name__}")
                if run_tiny is not None:
                    run_tiny(s, model)
                if conformance and s.task != "component":
                    report = conformance_report(s, pipe=model if run_tiny is None else None)  # run_tiny may change it
                    raise_failures(s.id, type(model).__name__, report)
    return specs
