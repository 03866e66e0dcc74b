"""Listing the zoo must not import torch (or diffusers/gradio): `zoo list` stays fast."""
import json
import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "gradio", "onnx", "onnxruntime", "coremltools")


def modules_after(code: str) -> list[str]:
    probe = code + f"\nimport sys, json; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_list_models_imports_no_heavy_module():
    assert modules_after("import zoo; zoo.list_models('*'); zoo.list_techniques()") == []


def test_cli_list_and_info_import_no_heavy_module():
    code = ("from zoo.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['list']); main(['info', 'sd15']); main(['list', '--json'])\n")
    assert modules_after(code) == []
