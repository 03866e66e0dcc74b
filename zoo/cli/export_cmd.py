"""`zoo export ID --target onnx|coreml|qnn --precision fp32|fp16|w8a8|w8a16`: export a model's
components for phone NPUs (or `--check` them for NPU-readiness first)."""
from __future__ import annotations

import json

from .argtypes import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export components to ONNX / Core ML / Qualcomm AI Hub, or --check readiness")
    p.add_argument("id")
    p.add_argument("--target", choices=["onnx", "coreml", "qnn"], default="onnx")
    p.add_argument("--precision", choices=["fp32", "fp16", "w8a8", "w8a16"], default="fp32")
    p.add_argument("--component", action="append", default=None, dest="components",
                   help="export only this component (repeatable; default: all)")
    p.add_argument("--out", default="exports", help="folder for the {id}-{target}-{precision}[-{chipset}] artifacts")
    p.add_argument("--check", action="store_true", help="only lint for NPU-readiness (targets: --target, or both NPUs)")
    p.add_argument("--dry-run", action="store_true", help="print what would be written / submitted, build nothing")
    p.add_argument("--device", default=None, help="AI Hub device, e.g. 'Samsung Galaxy S25'")
    p.add_argument("--chipset", default=None, help="AI Hub chipset, e.g. qualcomm-snapdragon-8-elite")
    p.add_argument("--runtime", choices=["qnn_context_binary", "tflite", "onnx"], default="qnn_context_binary",
                   help="AI Hub target runtime (--target qnn)")
    p.add_argument("--no-profile", action="store_true", help="skip the AI Hub profile job")
    p.add_argument("--inference", action="store_true", help="also run an AI Hub inference job and compare with torch")
    p.add_argument("--opset", type=int, default=18)
    p.add_argument("--tolerance", type=float, default=None, help="parity tolerance (relative max abs error)")
    p.add_argument("--calibration", choices=["pipeline", "example"], default="pipeline",
                   help="w8a8/w8a16: real inputs captured from the pipeline, or the spec's example inputs")
    p.add_argument("--calibration-samples", type=positive_int, default=4)
    p.add_argument("--palettize", type=int, default=None, choices=[1, 2, 3, 4, 6, 8], metavar="BITS",
                   help="Core ML weight palettisation (1, 2, 3, 4, 6 or 8 bits)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing artifact folder")
    p.add_argument("--no-optimize", action="store_true", help="skip the ONNX graph optimiser")
    p.add_argument("--random-init", action="store_true", help="export a random-init build (no weights needed)")
    p.add_argument("--weights", default=None)
    p.add_argument("--revision", default=None)
    p.add_argument("--json", action="store_true", help="print the lint report as JSON (--check)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.check:
        from ..export.lint import TARGETS, lint

        targets = [args.target] if args.target in TARGETS else list(TARGETS)  # onnx: check both NPUs
        # Readiness is a property of the architecture: lint a random-init build, no weights needed.
        report = lint(args.id, targets=targets, components=args.components, pretrained=False)
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
        return 0 if report.ok else 1

    from ..export.api import export
    from ..export.request import ExportRequest

    req = ExportRequest(
        target=args.target, precision=args.precision, components=args.components, out_dir=args.out,
        device=args.device, chipset=args.chipset, opset=args.opset, tolerance=args.tolerance, dry_run=args.dry_run,
        optimize=not args.no_optimize, calibration=args.calibration, calibration_samples=args.calibration_samples,
        palettize_bits=args.palettize, qnn_runtime=args.runtime, profile=not args.no_profile,
        inference=args.inference, overwrite=args.overwrite,
    )
    paths = export(args.id, req, pretrained=not args.random_init, weights=args.weights, revision=args.revision)
    if paths:
        meta = json.loads(paths[-1].read_text())
        for name, c in meta["components"].items():
            p = c.get("parity") or {}
            parity = (f"max abs {p['max_abs']:.3g}, cosine {p['cosine']:.6f}" if "max_abs" in p
                      else p.get("skipped", "no parity"))
            prof = (c.get("qai_hub") or {}).get("profile") or {}
            lat = f", {prof['latency_ms']:.2f} ms on {meta.get('device') or meta.get('chipset')}" if "latency_ms" in prof else ""
            print(f"{name}: {parity}{lat}")
        print(f"wrote {paths[-1].parent}")
    return 0
