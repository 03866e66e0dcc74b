"""Plugin loading through real entry points: isolation, restriction, strict mode, third-party."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def fake_dist(tmp: Path, dist: str, ep_name: str, module: str, source: str) -> Path:
    """A minimal installed distribution: a dist-info folder with an entry point, and its module."""
    info = tmp / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ondevice_diffusion_zoo]\n{ep_name} = {module}\n")
    (tmp / f"{module}.py").write_text(textwrap.dedent(source))
    return tmp


def zoo_cli(*args, path: Path | None = None, env_extra=None):
    env = dict(os.environ)
    env.pop("ZOO_STRICT_PLUGINS", None)  # CI sets it; these tests choose per call
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, timeout=120)


def test_broken_plugin_is_isolated_and_reported(tmp_path):
    fake_dist(tmp_path, "broken-zoo-plugin", "broken", "broken_zoo_plugin", "raise ImportError('no such backend')\n")
    out = zoo_cli("list", path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "sd15" in out.stdout
    out = zoo_cli("plugins", "--json", path=tmp_path)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert "ImportError: no such backend" in rows["broken"]["error"]
    assert rows["broken"]["version"] == "0.1"
    assert rows["upstream"]["error"] is None and "register_models" in rows["upstream"]["hooks"]


def test_strict_mode_makes_load_errors_fatal(tmp_path):
    fake_dist(tmp_path, "broken-zoo-plugin", "broken", "broken_zoo_plugin", "raise ImportError('boom')\n")
    out = zoo_cli("list", path=tmp_path, env_extra={"ZOO_STRICT_PLUGINS": "1"})
    assert out.returncode == 2
    assert "plugin 'broken' failed to load" in out.stderr and "Traceback" not in out.stderr


def test_env_var_restricts_loading(tmp_path):
    fake_dist(tmp_path, "broken-zoo-plugin", "broken", "broken_zoo_plugin", "raise ImportError('boom')\n")
    out = zoo_cli("plugins", "--json", path=tmp_path, env_extra={"ZOO_PLUGINS": "upstream"})
    assert [r["name"] for r in json.loads(out.stdout)] == ["upstream"]


def test_register_hook_error_is_isolated(tmp_path):
    fake_dist(tmp_path, "bad-register", "badreg", "bad_register", """
        import zoo
        @zoo.hookimpl
        def register_models(register):
            raise RuntimeError('spec table missing')
    """)
    out = zoo_cli("plugins", "--json", path=tmp_path)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert "spec table missing" in rows["badreg"]["error"]
    assert zoo_cli("info", "sd15", path=tmp_path).returncode == 0


def test_collision_between_plugins_names_both(tmp_path):
    fake_dist(tmp_path, "dup-plugin", "dup", "dup_plugin", """
        import zoo
        @zoo.hookimpl
        def register_models(register):
            register(zoo.ModelSpec(id="sd15", family="sd15", summary="x", task="text-to-image"))
    """)
    out = zoo_cli("list", path=tmp_path)
    assert out.returncode == 2
    assert "'upstream'" in out.stderr and "'dup'" in out.stderr


@pytest.fixture(scope="module")
def example_plugin_dir(tmp_path_factory):
    """Install the third-party example plugin (tests/example_plugin) into a private folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT / "tests" / "example_plugin")], check=True, timeout=300)
    return target


def test_third_party_plugin_discovered_by_entry_point(example_plugin_dir):
    out = zoo_cli("plugins", "--json", path=example_plugin_dir)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["example"]["distribution"] == "zoo-example-plugin"
    assert rows["example"]["models"] == 1 and rows["example"]["error"] is None
    code = ("import zoo, torch; p = zoo.load('example-tiny', pretrained=False);"
            "from zoo.testing import check_plugin; check_plugin('example');"
            "img = p('a cat', num_inference_steps=1, height=64, width=64, output_type='np').images; print(img.shape)")
    env = dict(os.environ, PYTHONPATH=str(example_plugin_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "(1, 64, 64, 3)" in out.stdout
