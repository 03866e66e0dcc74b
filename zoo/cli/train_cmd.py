"""`zoo train ID`: run a model's training recipe through its plugin's ``train_model`` hook.

    zoo train nanosd-s --data DIR --config train.yaml --stage all --out runs/nanosd-s
    zoo train mini-sd --recipe phast --config phast.yaml     # a technique's recipe (schedule search)
    accelerate launch --num_processes 8 "$(which zoo)" train nanosd-s ...   # blocks sharded over 8 GPUs

Options given on the command line override those in the config file. ``--recipe NAME`` runs the
recipe of that name of the technique (applying to the model) that declares it in
``TechniqueSpec.recipes``, through its plugin's ``train_technique`` hook; otherwise the name is
passed to the model's own recipe as ``config['recipe']``.
"""
from __future__ import annotations

# Stage names recipes declare (each recipe validates its own; unknown ones never reach a recipe):
# distillation engine block/search/align/finetune, VAE, projection/editor, and TOC-SR's adapt/expand/onestep.
STAGES = ["block", "search", "vae", "align", "finetune", "all", "projection", "editor", "adapt", "expand", "onestep"]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model with its recipe (block distillation, search, VAE, alignment)")
    p.add_argument("id", help="model id, e.g. nanosd-s")
    p.add_argument("--teacher", default=None, help="teacher model id (default: the model's own)")
    p.add_argument("--data", default=None, help="folder of images + .txt captions, or with prompts.txt")
    p.add_argument("--config", default=None, help="YAML or JSON file of recipe options")
    p.add_argument("--stage", choices=STAGES, default=None, help="which stage to run (default: all)")
    p.add_argument("--recipe", default=None, help="a named recipe, e.g. a technique's calibration search (phast)")
    p.add_argument("--out", default=None, help="output folder (default: runs/ID)")
    p.add_argument("--resume", action="store_true", help="continue from checkpoints and skip finished stages")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: accelerate's choice)")
    p.add_argument("--random-teacher", action="store_true",
                   help="random-init teacher instead of its weights (a dry run of the recipe)")
    p.set_defaults(func=run)


def build_config(args) -> dict:
    from ..distill.config import load_config_file

    cfg = load_config_file(args.config) if args.config else {}
    for key, val in (("teacher", args.teacher), ("data", args.data), ("stage", args.stage), ("device", args.device),
                     ("recipe", args.recipe)):
        if val is not None:
            cfg[key] = val
    cfg["out_dir"] = args.out or cfg.get("out_dir") or f"runs/{args.id}"
    if args.resume:
        cfg["resume"] = True
    if args.random_teacher:
        cfg["teacher_pretrained"] = False
    return cfg


def run(args) -> int:
    from ..errors import ZooError
    from ..plugins import get_plugin_manager
    from ..registry import get_registry

    from ..atomic import check_writable
    from ..validate import check_device

    spec = get_registry().get(args.id)
    check_device(args.device)  # before the recipe builds a teacher or reads data
    cfg = build_config(args)
    check_device(cfg.get("device"))  # a config file's device too
    check_writable(cfg["out_dir"])
    pm = get_plugin_manager()
    tech = _technique_with_recipe(spec, cfg.get("recipe"))
    if tech is not None:
        out = pm.call_owner(tech.plugin, "train_technique", technique=tech, spec=spec, config=cfg)
        if out is None:
            raise ZooError(f"plugin {tech.plugin!r} declares recipe {cfg['recipe']!r} of {tech.id!r} but did not run it")
        print(f"{spec.id}: {tech.id} recipe {cfg['recipe']!r} output in {out}")
        return 0
    if not any(name == spec.plugin for name, _ in pm.impls("train_model")):
        raise ZooError(f"plugin {spec.plugin!r} (owner of {spec.id}) has no training recipe (no train_model hook)")
    out = pm.call_owner(spec.plugin, "train_model", spec=spec, config=cfg)
    print(f"{spec.id}: training output in {out}")
    return 0


def _technique_with_recipe(spec, recipe):
    """The technique applying to ``spec`` that declares ``recipe`` (None: the model's own recipe)."""
    from ..errors import ZooError
    from ..registry import get_registry

    if not recipe:
        return None
    found = [t for t in get_registry().techniques.values() if recipe in t.recipes and t.applies(spec)]
    if len(found) > 1:
        raise ZooError(f"recipe {recipe!r} is declared by several techniques for {spec.id}: "
                       f"{', '.join(t.id for t in found)}")
    return found[0] if found else None
