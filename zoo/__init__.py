"""ondevice-diffusion-zoo: efficient on-device diffusion models behind one API.

    import zoo
    zoo.list_models("nanosd-*")
    pipe = zoo.load("nanosd-s")

Only light modules are imported here; torch and diffusers load when a model is built.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CorruptWeightsError,
    HubAuthError,
    PluginLoadError,
    RegistryCollisionError,
    UnknownModelError,
    UnsafeCheckpointError,
    WeightsNotFoundError,
    ZooError,
)
from . import quiet as _quiet  # noqa: E402,F401  (drops transformers' torchvision notice)
from .hookspecs import hookimpl  # noqa: E402
from .lazy import lazy_exports  # noqa: E402
from .registry import get_registry, get_spec, list_models, list_techniques  # noqa: E402
from .specs import Choice, ComponentSpec, ModelSpec, PaperRef, TechniqueSpec  # noqa: E402


def load(*args, **kwargs):
    from .loading import load as _load

    return _load(*args, **kwargs)


load.__doc__ = """Return a ready diffusers pipeline (or model) for a registered id, ``"hf-hub:ORG/NAME[@REV]"``
or ``"local-dir:PATH"``: ``zoo.load("nanosd-s", pretrained=False)``, ``zoo.load("sd15", techniques=["attention-reuse"])``.

Weights resolve from ``weights=PATH``, ``$ZOO_MODELS_DIR/<id>``, the Hugging Face cache, then the Hub at the
spec's pinned revision; ``pretrained=False`` builds with random weights. Full argument list: zoo.loading.load."""


def build(*args, **kwargs):
    """Build a registered model at full size with random weights (``device='meta'`` for shapes only)."""
    from .loading import build as _build

    return _build(*args, **kwargs)


def spec_of(model):
    """The ModelSpec a loaded model came from."""
    from .loading import spec_of as _spec_of

    return _spec_of(model)


# pipeline_class loads zoo.loading on first access (it imports diffusers when called)
__getattr__ = lazy_exports(__name__, {"pipeline_class": "loading"})

__all__ = [
    "__version__", "load", "build", "spec_of", "pipeline_class", "list_models", "list_techniques", "get_spec", "get_registry",
    "hookimpl", "lazy_exports", "ModelSpec", "TechniqueSpec", "ComponentSpec", "PaperRef", "Choice",
    "ZooError", "UnknownModelError", "RegistryCollisionError", "WeightsNotFoundError",
    "UnsafeCheckpointError", "CorruptWeightsError", "PluginLoadError", "HubAuthError",
]
