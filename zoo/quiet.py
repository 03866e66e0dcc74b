"""Silence library notices that are about the libraries, not about the user's work.

transformers warns on every run that torchvision is missing and it uses the PIL image
processors instead; the zoo never needs torchvision (it does not work with the CPU torch
here), so the notice is noise. Importing this module installs the filter (logging only)."""
from __future__ import annotations

import logging

NOISE = ("requires torchvision (not installed)",)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(n in msg for n in NOISE)


def install() -> None:
    for name in ("transformers.utils.import_utils",):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())


install()
