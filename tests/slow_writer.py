"""Child process for the kill tests: runs `zoo push --to` or `zoo export` through the real CLI,
atomic-output and staging code, with the model load and the file writer replaced by a slow
fake that prints a line after each file (so the parent can kill it at a known point).

    python slow_writer.py push|export DEST_PARENT [--overwrite]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

N_FILES = 4
PAUSE_S = 0.25


def slow_files(folder: Path, tag: str) -> None:
    for i in range(N_FILES):
        (folder / f"{tag}{i}.bin").write_bytes(bytes([i]) * 4096)
        print(f"wrote {tag}{i}", flush=True)
        time.sleep(PAUSE_S)
    (folder / "COMPLETE").write_text("yes\n")  # what a finished writer leaves: the test checks it
    print("written", flush=True)
    time.sleep(2 * PAUSE_S)  # a window after the writer is done and before the rename


def main() -> int:
    mode, dest = sys.argv[1], Path(sys.argv[2])
    overwrite = ["--overwrite"] if "--overwrite" in sys.argv else []
    import zoo.loading
    from zoo.cli import main as cli

    zoo.loading.load = lambda *a, **k: object()  # noqa: E731  (no model: the writer is what is tested)
    print("started", flush=True)
    if mode == "push":
        import zoo.push

        zoo.push.load = zoo.loading.load
        zoo.push.stage = lambda model, spec, folder, *a, **k: slow_files(folder, "weights")
        return cli(["push", "sd15-tiny", "--random-init", "--to", str(dest / "repo"), *overwrite])
    import torch

    import zoo.export.api as api
    import zoo.export.generic as generic

    api.load = zoo.loading.load
    class Const(torch.nn.Module):
        def forward(self):
            return torch.zeros(1)

    generic.component_modules = lambda model, spec, names: {"unet": (Const(), {})}

    def onnx_component(name, mod, inputs, ref, folder, request, samples):
        slow_files(folder, name)
        return {"file": f"{name}0.bin"}

    generic.onnx_component = onnx_component
    return cli(["export", "sd15-tiny", "--random-init", "--out", str(dest), "--no-optimize", *overwrite])


if __name__ == "__main__":
    sys.exit(main())
