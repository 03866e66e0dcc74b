"""TOCSRUNet: UNet2DConditionModel with some blocks swapped for surrogates from ``library``.

``surrogates`` maps a slot path (``down_blocks.2.resnets.0``) to an option (``R2``, ``A4``, ``-``,
...); slots not named keep the teacher's block. Everything else is UNet2DConditionModel's own
code and config, so parameter names of kept blocks are the teacher's (teacher weights load by
name with ``strict=False``), and save_pretrained / from_pretrained round-trip the surrogates.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional

from diffusers.configuration_utils import register_to_config
# diffusers' pipeline loader looks up ModelMixin in the module named by model_index.json
# ("zoo_tocsr.unet") to pick the load method, so it must be an attribute of this module.
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel

from zoo import ZooError

from .library import options, replace, slots, surrogate_for


class TOCSRUNet(UNet2DConditionModel):
    # ``kwargs`` is the parent's config, registered by the parent's own decorated __init__.
    ignore_for_config = ["kwargs"]

    @register_to_config
    def __init__(self, surrogates: Optional[dict[str, str]] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        found = slots(self)
        for path, option in sorted((surrogates or {}).items()):
            if path not in found:
                raise ZooError(f"TOCSRUNet has no slot {path!r}; slots are ResNets and transformers, e.g. "
                               f"{next(iter(found))!r}")
            if option not in options(found[path]):
                raise ZooError(f"slot {path} ({found[path]}) takes one of {list(options(found[path]))}, got {option!r}")
            replace(self, path, surrogate_for(self.get_submodule(path), option))

    @staticmethod
    def _get_init_keys(input_class: Any) -> set:
        keys = set(inspect.signature(input_class.__init__).parameters)
        if isinstance(input_class, type) and issubclass(input_class, TOCSRUNet):
            keys |= set(inspect.signature(UNet2DConditionModel.__init__).parameters)
        return keys


__all__ = ["TOCSRUNet"]
