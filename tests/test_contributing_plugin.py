"""CONTRIBUTING.md is a working plugin: its file blocks (those whose first line is `# PATH`)
are written out from the page alone, the package's entry point is installed as pip would
(a dist-info folder), and the plugin's own contract test passes in a fresh interpreter."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(?:python|toml)\n# ([\w./-]+\.(?:py|toml))\n(.*?)```", re.S)


def _write_plugin(dest: Path) -> dict[str, str]:
    files = {path: body for path, body in BLOCK.findall((ROOT / "CONTRIBUTING.md").read_text())}
    assert {"pyproject.toml", "zoo_myfamily/__init__.py", "zoo_myfamily/unet.py", "tests/test_contract.py"} <= set(files)
    for path, body in files.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(f"# {path}\n{body}")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    dist = dest / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    eps = project["entry-points"]["ondevice_diffusion_zoo"]
    (dist / "entry_points.txt").write_text("[ondevice_diffusion_zoo]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    return files


def test_plugin_written_from_contributing_passes_its_contract(tmp_path):
    pkg = tmp_path / "zoo-myfamily"
    _write_plugin(pkg)
    env = {**os.environ, "PYTHONPATH": str(pkg), "ZOO_STRICT_PLUGINS": "1", "HF_HUB_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf"), "ZOO_MODELS_DIR": str(tmp_path / "models")}
    env.pop("ZOO_PLUGINS", None)
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contract.py"],
                         cwd=pkg, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    assert "2 passed" in res.stdout


def test_technique_options_from_the_command_line():
    import pytest

    from zoo import ZooError
    from zoo.cli.run_cmd import technique_options

    assert technique_options(["attention-reuse:interval=2,mode=fast,on=true", "ec"]) == {
        "attention-reuse": {"interval": 2, "mode": "fast", "on": True}, "ec": {}}
    with pytest.raises(ZooError, match="key=value"):
        technique_options(["ec:interval"])
