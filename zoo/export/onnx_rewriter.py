"""onnxscript's graph optimiser (run by every ``torch.onnx.export(..., optimize=True)``) with the
same rewrites in a fraction of the time.

For a rewrite pattern with several output nodes, onnxscript's ``SimplePatternMatcher.match``
indexes every node of the graph by op type before it tries the node it was called for; the
optimiser calls it for every node, so a graph of N nodes costs N^2 (a tiny UNet's 4,500-node
ONNX graph: three quarters of the optimiser's time). Every combination it then tries starts by
matching the pattern's first output node against that same node, so when that fails, all fail:
``quick_multi_output_match`` checks it first and returns the same failed match without the index.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator


@contextlib.contextmanager
def quick_multi_output_match() -> Iterator[None]:
    """Within the block, onnxscript's multi-output pattern matching skips nodes that cannot start a match."""
    try:
        from onnxscript import ir
        from onnxscript.rewriter import _matcher
    except ImportError:  # another onnxscript layout: its own matcher, unchanged
        yield
        return
    cls = getattr(_matcher, "SimplePatternMatcher", None)
    if cls is None or not all(hasattr(cls, a) for a in ("match", "_match_node", "_init_match")):
        yield
        return
    original = cls.match

    def match(self: Any, model: Any, graph_or_function: Any, node: Any, *, verbose: int = 0,
              remove_nodes: bool = True, tracer: Any = None) -> Any:
        if not self.pattern.has_single_output_node:
            # the state original() sets up before its first combination: (output_nodes[0], node)
            self._tracer = tracer
            self._graph = graph_or_function if isinstance(graph_or_function, ir.Graph) else graph_or_function.graph
            self._init_match(verbose)
            if not self._match_node(self.pattern.output_nodes[0], node):
                return self._match
        return original(self, model, graph_or_function, node, verbose=verbose, remove_nodes=remove_nodes,
                        tracer=tracer)

    cls.match = match
    try:
        yield
    finally:
        cls.match = original
