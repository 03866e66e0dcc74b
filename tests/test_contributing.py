"""Meta-tests (as datasette does): every hookspec is documented for plugin authors and tested."""
import re
from pathlib import Path

from zoo import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "ondevice_diffusion_zoo_spec"))


def test_there_are_hooks():
    assert {"register_models", "build_model", "train_model", "export_model", "eval_model"} <= set(HOOKS)


def test_every_hook_documented_in_contributing():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    missing = [h for h in HOOKS if not re.search(rf"`{h}\(", text)]
    assert not missing, f"hooks missing from CONTRIBUTING.md: {missing}"


def test_every_hook_has_a_test():
    text = (ROOT / "tests" / "test_hooks.py").read_text()
    missing = [h for h in HOOKS if f"def test_hook_{h}" not in text]
    assert not missing, f"hooks without a test_hook_<name> in tests/test_hooks.py: {missing}"


def test_every_hook_has_a_docstring():
    assert all((getattr(hookspecs, h).__doc__ or "").strip() for h in HOOKS)
