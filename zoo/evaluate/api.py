"""``zoo.evaluate.evaluate``: the owning plugin's eval hook first, the core's generic suite after."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Union

from ..errors import ZooError
from ..specs import ModelSpec


def _generic_suites() -> dict[str, Callable[[Any, ModelSpec, dict], list[dict]]]:
    from .cost import cost_suite
    from .generation import generation_suite
    from .sr import sr_suite
    from ..proving.suite import digits_suite
    from ..proving.edits import edits_suite

    return {"cost": cost_suite, "sr": sr_suite, "generation": generation_suite, "digits": digits_suite, "edits": edits_suite}


SUITES = ("cost", "sr", "generation", "digits", "edits")


def evaluate(model_or_id: Any, suite: str = "cost", *, pretrained: bool = True, meta: bool = False,
             spec: Optional[ModelSpec] = None, out: Union[str, Path, None] = None, save: bool = False,
             **opts: Any) -> list[dict[str, Any]]:
    """Evaluate a model (an id, or an object from zoo.load / zoo.build) on ``suite``.

    ``pretrained=False`` evaluates a random-init build (cost needs no weights); ``meta=True``
    builds on the meta device (params and MACs only, no memory). Other keyword options go to
    the suite (see cost_suite, sr_suite, generation_suite). Records are returned, and saved
    under ``out`` (a folder or a .json file) or the default results folder if ``save``.
    """
    from ..loading import build, load, spec_of
    from ..plugins import get_plugin_manager
    from ..registry import get_spec
    from .records import save_records, validate

    if isinstance(model_or_id, str):
        spec = spec or get_spec(model_or_id)
        if meta:
            model = build(spec, device="meta")
        else:
            model = load(spec.id, pretrained=pretrained, progress=opts.get("progress", True))
    else:
        model = model_or_id
        spec = spec or spec_of(model)
        if spec is None:
            raise ZooError("this model carries no zoo spec: load it with zoo.load, or pass spec=zoo.get_spec(ID)")
    config = dict(opts)
    config.setdefault("pretrained", pretrained)
    records = get_plugin_manager().call_owner(spec.plugin, "eval_model", spec=spec, model=model, suite=suite, config=config)
    if records is None:
        suites = _generic_suites()
        if suite not in suites:
            raise ZooError(f"unknown eval suite {suite!r} for {spec.id}: the core has {', '.join(suites)}"
                           f" and plugin {spec.plugin!r} did not handle it")
        records = suites[suite](model, spec, config)
    records = validate(records)
    if out is not None or save:
        save_records(records, out)
    return records
