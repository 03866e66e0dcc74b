"""The plugin contract: every hook a zoo plugin may implement.

Plugins mark implementations with ``@zoo.hookimpl``. Registration hooks pass a ``register``
callback (as llm and datasette do). The per-model hooks (build, train, export, eval) are
called only on the plugin that registered the model, and return ``None`` to fall back to the
core's generic code where there is one.
"""
from __future__ import annotations

import pluggy

PROJECT = "ondevice_diffusion_zoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register):
    """Call ``register(ModelSpec(...))`` once per model this plugin provides.

    Keep it cheap: no torch import, no file or network access. Listing the zoo calls it.
    """


@hookspec
def register_techniques(register):
    """Call ``register(TechniqueSpec(...))`` once per technique this plugin provides."""


@hookspec(firstresult=True)
def build_model(spec):
    """Return the model for ``spec`` at full size with random weights, in float32 on CPU.

    Return a diffusers pipeline for pipeline models, or an ``nn.Module`` for component ids.
    The core moves it to the requested device/dtype and loads pretrained weights; called
    under ``torch.device('meta')`` when only shapes are needed (cost eval).
    """


@hookspec(firstresult=True)
def train_model(spec, config):
    """Run the training recipe for ``spec``; ``config`` is a dict of options from the CLI or
    a config file (the plugin validates it). Return the output directory (``pathlib.Path``)."""


@hookspec(firstresult=True)
def train_technique(technique, spec, config):
    """Run the recipe ``config['recipe']`` (one of ``technique.recipes``) of a technique this plugin
    registered, for the model ``spec`` (e.g. a schedule search on calibration prompts); called by
    ``zoo train ID --recipe NAME``. Return the output directory (``pathlib.Path``)."""


@hookspec(firstresult=True)
def export_model(spec, model, request):
    """Export ``model`` per ``request`` (target, precision, components, out_dir).

    Return a list of written artifact paths, or ``None`` to use the core's generic exporter.
    """


@hookspec(firstresult=True)
def eval_model(spec, model, suite, config):
    """Evaluate ``model`` on ``suite`` ('cost', 'sr', 'generation', ...).

    Return a list of result records (dicts), or ``None`` to use the core's generic suite.
    """


@hookspec(firstresult=True)
def apply_technique(technique, spec, model, config):
    """Apply the technique ``technique`` (a TechniqueSpec this plugin registered) to ``model``
    built from ``spec``, returning the modified model."""
