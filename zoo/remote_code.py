"""Ship a model's own classes with its weights, so plain diffusers loads a zoo repo.

diffusers loads a pipeline component whose class it does not have from a ``.py`` file in the
component's folder: ``model_index.json`` names it ``"unet": ["<file stem>", "<ClassName>"]``
and ``DiffusionPipeline.from_pretrained(REPO_OR_DIR, trust_remote_code=True)`` imports
``unet/<file stem>.py``. It fetches only that one file from the Hub, so the file must stand
alone.

The rule for a plugin (CONTRIBUTING.md): the module that defines a model class, and the plugin
modules it imports with relative imports, import only the standard library, torch, diffusers,
transformers, safetensors, numpy, PIL and huggingface_hub, plus ``from zoo import ZooError``
(or another ``zoo.errors`` class) for user errors. :func:`bundle_source` then flattens them into
one file: dependencies first, relative imports dropped (the names are already defined), and
the zoo's error classes defined as ``ValueError`` subclasses. Every family that follows the
rule gets loadable repos with no code of its own.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Optional

from .errors import ZooError

# What diffusers itself depends on (plus torch/transformers): present wherever it loads.
ALLOWED_PACKAGES = {"torch", "diffusers", "transformers", "safetensors", "numpy", "PIL", "huggingface_hub"}
STOCK_LIBRARIES = {"diffusers", "transformers"}
ERRORS_MODULE = "zoo.errors"
ZOO_CLASSES = "_zoo_classes"  # model_index.json key: component -> "module:Class" of the plugin's class


class NotSelfContainedError(ZooError):
    """A model-class module imports something a machine without the zoo may not have."""


def _module_file(name: str) -> Path:
    mod = sys.modules.get(name) or importlib.import_module(name)
    path = getattr(mod, "__file__", None)
    if not path or not path.endswith(".py"):
        raise NotSelfContainedError(f"module {name} has no .py source to ship")
    return Path(path)


def _relative_target(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    package = module if is_package else module.rpartition(".")[0]
    return importlib.util.resolve_name("." * node.level + (node.module or ""), package)


def _check_absolute(node: ast.AST, module: str) -> Optional[list[str]]:
    """Names of zoo error classes imported by ``node``; raises on an import that is not allowed."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        names = [node.module or ""]
    for name in names:
        top = name.split(".")[0]
        if name in ("zoo", ERRORS_MODULE) and isinstance(node, ast.ImportFrom):
            errors = importlib.import_module(ERRORS_MODULE)
            bad = [a.name for a in node.names if not (isinstance(getattr(errors, a.name, None), type)
                                                       and issubclass(getattr(errors, a.name), Exception))]
            if bad:
                raise NotSelfContainedError(
                    f"{module} imports {', '.join(bad)} from {name}: a model-class module may take only error classes "
                    f"from the zoo (keep other zoo code in the plugin's build/train modules)")
            if any(a.asname for a in node.names):
                raise NotSelfContainedError(f"{module}: import zoo's error classes without 'as' (line {node.lineno})")
            return [a.name for a in node.names]
        if top not in ALLOWED_PACKAGES and top not in sys.stdlib_module_names:
            raise NotSelfContainedError(
                f"{module} imports {name}: a model-class module may import only the standard library and "
                f"{', '.join(sorted(ALLOWED_PACKAGES))}, so that plain diffusers can load the pushed repo")
    return None


def _collect(module: str, order: list[str], seen: set[str], errors: set[str]) -> None:
    """Depth-first: every plugin module ``module`` imports relatively, then ``module`` itself."""
    if module in seen:
        return
    seen.add(module)
    path = _module_file(module)
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if any(a.name == "*" for a in node.names) or node.module is None:
                raise NotSelfContainedError(f"{module}: use 'from .mod import name' (line {node.lineno}), not * or 'from . import mod'")
            _collect(_relative_target(node, module, path.name == "__init__.py"), order, seen, errors)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            errors.update(_check_absolute(node, module) or [])
    order.append(module)


def _strip(module: str) -> tuple[str, bool]:
    """``module``'s source without relative and zoo imports; whether it had ``from __future__``."""
    path = _module_file(module)
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    future = False
    edits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.module == "__future__":
            future = True
        elif not (node.level or node.module in ("zoo", ERRORS_MODULE)):
            continue
        indent = " " * node.col_offset
        # Names a relative import binds under another name still need binding; the rest exist.
        body = [f"{indent}{a.asname} = {a.name}" for a in node.names if a.asname and a.asname != a.name]
        if not body and node.col_offset:
            body = [f"{indent}pass"]  # keep a function body that held only the import valid
        edits.append((node.lineno, node.end_lineno, body))
    for start, end, body in sorted(edits, reverse=True):
        lines[start - 1 : end] = body
    return "\n".join(lines), future


def _defined_names(source: str) -> set[str]:
    out = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update(t.id for t in targets if isinstance(t, ast.Name))
    return {n for n in out if not (n.startswith("__") and n.endswith("__"))}


def bundle_source(cls: type) -> str:
    """One self-contained Python file that defines ``cls`` (see the module docstring for the rule)."""
    order: list[str] = []
    errors: set[str] = set()
    _collect(cls.__module__, order, set(), errors)
    parts, future, owner = [], False, {}
    for module in order:
        src, fut = _strip(module)
        future |= fut
        for name in _defined_names(src):
            if name in owner:
                raise NotSelfContainedError(
                    f"{module} and {owner[name]} both define {name!r}: rename one, since {cls.__name__}'s modules are "
                    f"shipped as one file")
            owner[name] = module
        parts.append(f"# ---- module {module} ----\n{src.strip()}\n")
    head = [f'"""{cls.__name__}, shipped by ondevice-diffusion-zoo so that diffusers loads this folder without the zoo:\n'
            f"{' + '.join(order)}, flattened into one file (generated; edit the plugin instead).\"\"\""]
    if future:
        head.append("from __future__ import annotations")
    for name in sorted(errors):
        head.append(f"\n\nclass {name}(ValueError):\n    \"\"\"The zoo's {name} (a ValueError where the zoo is not installed).\"\"\"")
    return "\n".join(head) + "\n\n\n" + "\n\n".join(parts)


def code_file_stem(cls: type) -> str:
    return cls.__module__.replace(".", "_")


def is_stock(cls: type) -> bool:
    return cls.__module__.split(".")[0] in STOCK_LIBRARIES


def write_pipeline_code(folder: Path, pipeline: Any) -> dict[str, str]:
    """Write each custom component's code into ``folder/<component>/`` and point model_index.json at it.

    Returns ``{component: file}`` for what was written. Raises :class:`NotSelfContainedError`
    when a class's modules break the rule, before anything is written.
    """
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text())
    sources = {}
    for name, comp in getattr(pipeline, "components", {}).items():
        if comp is None or is_stock(type(comp)) or not inspect.getmodule(type(comp)):
            continue
        sources[name] = (type(comp), bundle_source(type(comp)))
    written = {}
    for name, (cls, src) in sources.items():
        stem = code_file_stem(cls)
        (folder / name).mkdir(exist_ok=True)
        (folder / name / f"{stem}.py").write_text(src)
        index[name] = [stem, cls.__name__]
        written[name] = f"{name}/{stem}.py"
        # diffusers ignores '_' keys; zoo.load reads this to use the plugin's own class without a build
        index.setdefault(ZOO_CLASSES, {})[name] = f"{cls.__module__}:{cls.__name__}"
    if written:
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return written


def component_classes(index: dict[str, Any]) -> Optional[dict[str, type]]:
    """The classes of a saved pipeline's components that diffusers/transformers lack, from its
    model_index.json: ``_zoo_classes`` (written by `zoo push`) or an importable library entry.
    None if one cannot be imported here."""
    out = {}
    named = index.get(ZOO_CLASSES) or {}
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or len(entry) != 2 or entry[0] in (None, *STOCK_LIBRARIES):
            continue
        module, _, cls_name = (named.get(name) or f"{entry[0]}:{entry[1]}").partition(":")
        try:
            out[name] = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError):
            return None
    return out

