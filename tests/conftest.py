"""Test environment: offline Hub, private caches, no analytics. Set before anything imports
huggingface_hub (it reads these at import)."""
import os
import tempfile

_ROOT = tempfile.mkdtemp(prefix="zoo-tests-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = os.path.join(_ROOT, "hf")
os.environ.pop("HF_HUB_CACHE", None)
os.environ.pop("HF_TOKEN", None)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["ZOO_MODELS_DIR"] = os.path.join(_ROOT, "models")
os.environ["ZOO_RESULTS_DIR"] = os.path.join(_ROOT, "results")  # eval records: never the user's or the repo's
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# Tiny models spend their time in thread hand-offs, not arithmetic: one intra-op thread is
# faster (two contended threads measured 10-20x slower on 2 shared cores). Set before torch is
# imported; subprocesses started by tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.pop("ZOO_PLUGINS", None)
os.environ.setdefault("ZOO_STRICT_PLUGINS", "1")  # as in CI: a plugin error fails the run

import pytest  # noqa: E402


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """A fresh, empty Hugging Face cache for one test."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def fresh_registry():
    import zoo.plugins

    zoo.plugins.reset()
    yield
    zoo.plugins.reset()
