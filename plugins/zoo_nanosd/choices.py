"""NanoSD's search space as plain data: stage names, option sets, option parsing.

No torch here: the specs, the variant table and the search engine read it without building
anything. An option is a string over {R, A}: R = ResNet block, A = transformer block that
follows the R before it. "RARA" is an original encoder stage, "RARARA" an original decoder
stage [paper]; the option sets are the zoo's choice (nanosd.md).
"""
from __future__ import annotations

from zoo import ZooError

STAGE_NAMES = ("E1", "E2", "E3", "D3", "D2", "D1")
ENCODER_OPTIONS = ("RARA", "RA", "RR", "R")
DECODER_OPTIONS = ("RARARA", "RARA", "RAR", "RRA", "RA", "RR", "R", "RRR")
ENCODER_LAYERS = 2  # ResNets per encoder stage in SD1.5 (layers_per_block)
DECODER_LAYERS = 3  # ResNets per decoder stage in SD1.5 (layers_per_block + 1)
ORIGINAL = ["RARA", "RARA", "RARA", "RARARA", "RARARA", "RARARA"]
NUM_COMBINATIONS = len(ENCODER_OPTIONS) ** 3 * len(DECODER_OPTIONS) ** 3  # 32,768


def options_for(stage_index: int, num_levels: int = 3) -> tuple[str, ...]:
    """The options of stage ``stage_index`` (0..num_levels-1 encoders, then decoders deepest first)."""
    if not 0 <= stage_index < 2 * num_levels:
        raise ZooError(f"stage index {stage_index} out of range: a {num_levels}-level NanoSD UNet has {2 * num_levels} stages")
    return ENCODER_OPTIONS if stage_index < num_levels else DECODER_OPTIONS


def stage_name(stage_index: int, num_levels: int = 3) -> str:
    if stage_index < num_levels:
        return f"E{stage_index + 1}"
    return f"D{2 * num_levels - stage_index}"


def parse_option(option: str) -> tuple[int, tuple[int, ...]]:
    """``"RRA"`` -> (2 ResNets, transformers after ResNets (1,)).

    Weight mapping [choice]: the k-th R of an option is the teacher stage's k-th ResNet, and an
    A is the teacher transformer that follows the same ResNet in the original stage (so "RRA"
    keeps ResNets 0, 1 and transformer 1; "RAR" keeps ResNets 0, 1 and transformer 0). Each kept
    block then sees inputs of the distribution it was trained on in the teacher.
    """
    if not option or option[0] != "R" or set(option) - {"R", "A"} or "AA" in option:
        raise ZooError(f"bad stage option {option!r}: a string of R/A that starts with R and has no 'AA'")
    n_res, attn = 0, []
    for ch in option:
        if ch == "R":
            n_res += 1
        else:
            attn.append(n_res - 1)
    return n_res, tuple(attn)


def validate_choices(stage_choices: list[str] | tuple[str, ...], num_levels: int = 3) -> list[str]:
    choices = list(stage_choices)
    if len(choices) != 2 * num_levels:
        raise ZooError(
            f"stage_choices needs {2 * num_levels} entries ({', '.join(stage_name(i, num_levels) for i in range(2 * num_levels))}), "
            f"got {len(choices)}: {choices}"
        )
    for i, c in enumerate(choices):
        opts = options_for(i, num_levels)
        if c not in opts:
            raise ZooError(f"stage {stage_name(i, num_levels)} has no option {c!r}; choose one of {list(opts)}")
    return choices


def combination(index: int) -> list[str]:
    """The ``index``-th of the 32,768 combinations (mixed radix, E1 most significant)."""
    if not 0 <= index < NUM_COMBINATIONS:
        raise ZooError(f"combination index {index} out of range [0, {NUM_COMBINATIONS})")
    out = []
    for i in reversed(range(6)):
        opts = options_for(i)
        index, r = divmod(index, len(opts))
        out.append(opts[r])
    return out[::-1]
