"""Parsing of the ids `zoo.load` accepts: registered ids and aliases, `hf-hub:org/repo[@rev]`,
`local-dir:PATH`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from .errors import ZooError


@dataclass(frozen=True)
class ModelRef:
    kind: Literal["registered", "hf-hub", "local-dir"]
    name: str  # model id, repo id or path
    revision: Optional[str] = None


def parse_ref(ref: str) -> ModelRef:
    if not isinstance(ref, str) or not ref.strip():
        raise ZooError(f"model id must be a non-empty string, got {ref!r}")
    ref = ref.strip()
    if ref.startswith("hf-hub:"):
        body = ref[len("hf-hub:") :]
        repo, _, rev = body.partition("@")
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise ZooError(f"{ref!r}: expected hf-hub:ORG/NAME[@REVISION]")
        return ModelRef("hf-hub", repo, rev or None)
    if ref.startswith("local-dir:"):
        path = ref[len("local-dir:") :]
        if not path:
            raise ZooError(f"{ref!r}: expected local-dir:PATH")
        return ModelRef("local-dir", path)
    return ModelRef("registered", ref)
