"""FraQAT (arXiv 2510.14823) and QUAD / LoRA as graph inputs (arXiv 2603.29535), as the
techniques ``fraqat`` and ``lora-inputs`` for any registered model.

    pipe = zoo.load("mini-pixart", techniques={"fraqat": {"train": True, "out_dir": "fraqat-out"}})
    pipe = zoo.load("mini-pixart", techniques={"fraqat": {"weights": "fraqat-out/fraqat.safetensors"}})
    zoo train mini-pixart --recipe fraqat --config fraqat.yaml --out runs/fraqat   # same, from the CLI
    accelerate launch --num_processes 2 "$(which zoo)" train mini-pixart --recipe fraqat ...

Registering imports no torch; the layers and trainers load when a technique is applied.
"""
from __future__ import annotations

from zoo import hookimpl

from .specs import techniques


@hookimpl
def register_techniques(register):
    for t in techniques():
        register(t)


@hookimpl
def apply_technique(technique, spec, model, config):
    if technique.id == "fraqat":
        from .technique import apply_fraqat

        return apply_fraqat(spec, model, config)
    if technique.id == "lora-inputs":
        from .lora_technique import apply_lora_inputs

        return apply_lora_inputs(spec, model, config)
    return None


@hookimpl
def train_technique(technique, spec, config):
    if technique.id == "fraqat":
        from .technique import train_recipe

        return train_recipe(spec, config)
    return None
