"""MTU UNet classes by name for diffusers' loader (kept out of unet.py, which ships as remote code
and so imports no zoo code)."""
from __future__ import annotations


def resolve_class(name: str) -> type:
    """``MTU<C>`` by name, where C is the UNet class of a registered MTU model's base (built on the meta
    device through the zoo: how a saved pipeline naming ``["zoo_mtu", "MTUNanoSDUNet"]`` finds its class
    without this plugin importing another)."""
    import zoo

    from .unet import _CLASSES, MTU_PREFIX, mtu_unet_class

    for cls in list(_CLASSES.values()):
        if cls.__name__ == name:
            return cls
    bases = dict.fromkeys(s.config["base"] for s in zoo.get_registry().models.values()
                          if s.family == "mtu" and "base" in s.config)
    for base_id in bases:
        unet = getattr(zoo.build(base_id, device="meta"), "unet", None)
        if unet is not None and f"{MTU_PREFIX}{type(unet).__name__}" == name:
            return mtu_unet_class(type(unet))
    raise AttributeError(f"module 'zoo_mtu' has no attribute {name!r} (no registered MTU base has that UNet class)")
