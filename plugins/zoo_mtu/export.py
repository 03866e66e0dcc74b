"""Export per task: the pipeline's UNet folded for its current task (one plain FFN per layer, that
task's norms and conv_in, no router), exported by the core exporter under the id ``<id>.<task>``
(artifacts ``<id>.<task>-<target>-<precision>``), with the UNet's input channels of that task."""
from __future__ import annotations

from typing import Any, Optional


def export_task(spec: Any, model: Any, request: Any) -> Optional[list]:
    from zoo.export import export

    from .modules import STATE_ATTR
    from .technique import fold

    unet = getattr(model, "unet", None)
    state = getattr(unet, STATE_ATTR, None)
    if state is None:
        return None  # already folded (the call below): the core's generic exporter
    folded = fold(model, state.task)
    pipe = type(model)(**{**model.components, "unet": folded})
    comps = []
    for c in spec.components:
        if c.name == "unet":
            sample = list(c.inputs["sample"])
            sample[1] = folded.config.in_channels
            c = c.model_copy(update={"inputs": {**c.inputs, "sample": sample}, "class_name": "UNet2DConditionModel"})
        comps.append(c)
    task_spec = spec.model_copy(update={"id": f"{spec.id}.{state.task}", "components": comps})
    return export(pipe, request, spec=task_spec)
