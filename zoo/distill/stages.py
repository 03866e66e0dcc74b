"""Stage surgery: a network seen as an ordered list of named stages (submodules), each of
which a shape-compatible candidate block may replace.

A *search space* is an ordered mapping stage name -> option names; an *architecture* is one
option per stage. A *candidate* is one (stage, option) block that needs training.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from ..errors import ZooError


@dataclass
class Candidate:
    """One surrogate block to distil: ``build()`` returns it (typically initialised from the
    teacher's weights with removed sub-modules dropped); it must accept the teacher stage's
    call arguments and return an output of the same structure and shapes."""

    stage: str
    choice: str
    build: Callable[[], Any]
    # relative training cost, used to balance candidates across processes (e.g. params)
    weight: float = 1.0

    @property
    def name(self) -> str:
        return candidate_name(self.stage, self.choice)


def candidate_name(stage: str, choice: str) -> str:
    """File-system safe ``stage--choice``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{stage}--{choice}")


def get_stage(model: Any, name: str) -> Any:
    """The submodule at dotted path ``name`` (``"down_blocks.1"``, ``"stages.3"``)."""
    try:
        return model.get_submodule(name)
    except AttributeError as exc:
        raise ZooError(f"{type(model).__name__} has no stage {name!r}") from exc


def set_stage(model: Any, name: str, module: Any) -> None:
    """Replace the submodule at dotted path ``name`` in place."""
    parent_name, _, leaf = name.rpartition(".")
    parent = get_stage(model, parent_name) if parent_name else model
    if leaf.isdigit() and hasattr(parent, "__setitem__"):
        parent[int(leaf)] = module
    elif hasattr(parent, leaf):
        setattr(parent, leaf, module)
    else:
        raise ZooError(f"{type(parent).__name__} has no child {leaf!r} (stage {name!r})")


def assemble(base: Any, blocks: Mapping[str, Any]) -> Any:
    """Put ``blocks`` (stage name -> module) into ``base`` in place and return it."""
    for name, module in blocks.items():
        set_stage(base, name, module)
    return base


@dataclass(frozen=True)
class SearchSpace:
    """Ordered stages, each with its ordered options; option 0 need not be the original."""

    stages: tuple[str, ...]
    options: tuple[tuple[str, ...], ...]

    @classmethod
    def from_mapping(cls, space: Mapping[str, Sequence[str]]) -> "SearchSpace":
        if not space:
            raise ZooError("empty search space")
        for k, v in space.items():
            if not v:
                raise ZooError(f"stage {k!r} has no options")
        return cls(tuple(space), tuple(tuple(v) for v in space.values()))

    @property
    def size(self) -> int:
        n = 1
        for o in self.options:
            n *= len(o)
        return n

    def arch(self, choices: Sequence[str] | Mapping[str, str]) -> tuple[str, ...]:
        """Validate an architecture (list or stage->choice mapping) into a tuple of choices."""
        if isinstance(choices, Mapping):
            choices = [choices[s] for s in self.stages]
        choices = tuple(choices)
        if len(choices) != len(self.stages):
            raise ZooError(f"an architecture has {len(self.stages)} choices, got {len(choices)}")
        for s, c, opts in zip(self.stages, choices, self.options):
            if c not in opts:
                raise ZooError(f"stage {s!r} has no option {c!r}; options: {list(opts)}")
        return choices

    def from_unit(self, x: Sequence[float]) -> tuple[str, ...]:
        """Round a point of [0,1]^k to an architecture: equal-width bins per stage [choice]."""
        return tuple(opts[min(int(float(xi) * len(opts)), len(opts) - 1)] for xi, opts in zip(x, self.options))

    def to_unit(self, arch: Sequence[str]) -> tuple[float, ...]:
        """The centre of each choice's bin (inverse of ``from_unit``)."""
        return tuple((opts.index(c) + 0.5) / len(opts) for c, opts in zip(arch, self.options))


def needed_candidates(space: SearchSpace, original: Optional[Mapping[str, str]] = None) -> list[tuple[str, str]]:
    """(stage, option) pairs that need a trained surrogate: every option except each stage's
    original (which is the teacher's own block)."""
    original = original or {}
    return [(s, c) for s, opts in zip(space.stages, space.options) for c in opts if original.get(s) != c]
