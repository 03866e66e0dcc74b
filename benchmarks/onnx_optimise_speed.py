"""onnxscript's optimiser on one component's ONNX graph, as torch.onnx runs it vs with
zoo.export.onnx_rewriter.quick_multi_output_match, interleaved (A B A B), and whether the
optimised graphs are identical (op types, inputs and outputs of every node, in order).

    python benchmarks/onnx_optimise_speed.py sd15-tiny unet --rounds 2
"""
from __future__ import annotations

import argparse
import contextlib
import time
import warnings


def main() -> None:
    import torch

    import zoo
    from zoo.components import component_module, example_inputs
    from zoo.export.lint import decompose_only_if_needed
    from zoo.export.npu_ready import clean_graph, npu_ready
    from zoo.export.onnx_rewriter import quick_multi_output_match
    from zoo.export.onnx_translations import translation_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_id")
    ap.add_argument("component")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    model = zoo.load(args.model_id, pretrained=False, progress=False)
    module, x = npu_ready(component_module(model, zoo.get_spec(args.model_id).component(args.component)),
                          example_inputs(zoo.get_spec(args.model_id).component(args.component)))
    with torch.no_grad():
        ep = clean_graph(torch.export.export(module, (), kwargs=x, strict=False).run_decompositions({}))
    times: dict[bool, list[float]] = {False: [], True: []}
    graphs = []
    for _ in range(args.rounds):
        for quick in (False, True):
            with decompose_only_if_needed():
                program = torch.onnx.export(ep, (), kwargs=x, dynamo=True, optimize=False, verbose=False,
                                            custom_translation_table=translation_table())
            t0 = time.perf_counter()
            with quick_multi_output_match() if quick else contextlib.nullcontext():
                program.optimize()
            times[quick].append(time.perf_counter() - t0)
            graphs.append([(n.op_type, tuple(n.input), tuple(n.output)) for n in program.model_proto.graph.node])
    print(f"{args.model_id} {args.component}: {len(graphs[0])} optimised ONNX nodes")
    for quick in (False, True):
        print(f"  {'quick matcher' if quick else 'as torch.onnx'}: " + ", ".join(f"{t:.2f}" for t in times[quick]) + " s")
    print(f"  ratio (as torch.onnx / quick): {sum(times[False]) / sum(times[True]):.2f}")
    print("  identical optimised graphs:", all(g == graphs[0] for g in graphs))


if __name__ == "__main__":
    main()
