"""Silence library notices that are about the libraries, not about the user's work.

transformers and torch.onnx say on every run that torchvision is missing (PIL image
processors are used instead; torchvision's detection ops are not registered for export); the
zoo never needs torchvision (it does not work with the CPU torch here), so the notices are
noise, as is torch.export's own deprecation notice about its tree specs. Importing this module
installs the filters (logging and warnings only)."""
from __future__ import annotations

import logging
import warnings

NOISE = ("requires torchvision (not installed)", "torchvision is not installed. Skipping")
LOGGERS = ("transformers.utils.import_utils", "torch.onnx._internal.exporter._registration")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(n in msg for n in NOISE)


def install() -> None:
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())


install()
