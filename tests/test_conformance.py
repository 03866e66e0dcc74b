"""The conformance kit on every registered ``-tiny`` pipeline; sd15-tiny (stock diffusers) is the control.

The ids are read from the registry when pytest collects this file, so a family added by any
plugin is held to the kit without editing this test.
"""
from __future__ import annotations

import pytest

import zoo
from zoo.conformance import CHECKS, conformance_ids, conformance_report

pytestmark = pytest.mark.filterwarnings("ignore")

IDS = conformance_ids()

# Conformance gaps reported to a family's owner and not fixed yet: {id: {check: what fails}}.
# Any other failure fails the test; remove an entry when its owner fixes it.
KNOWN_GAPS: dict[str, dict[str, str]] = {}  # none open (mini-sr-tiny's generator lists and eta: fixed by its owner)


def report(model_id: str) -> dict:
    return conformance_report(zoo.get_spec(model_id))  # once per process, shared with check_plugin


@pytest.mark.parametrize("model_id", IDS)
def test_tiny_pipeline_conforms(model_id):
    failed = {k: v for k, v in report(model_id).items() if v.startswith("FAILED")}
    new = {k: v for k, v in failed.items() if k not in KNOWN_GAPS.get(model_id, {})}
    assert not new, f"{model_id}: {new}"


def test_control_and_nanosd_pass_every_check():
    """Stock sd15-tiny exercises every check (none n/a), and NanoSD's own classes pass them all."""
    for model_id in ("sd15-tiny", "nanosd-tiny"):
        assert report(model_id) == {name: "ok" for name in CHECKS}, model_id


def test_every_family_is_covered():
    families = {s.family for s in zoo.get_registry().models.values() if s.task != "component"}
    covered = {zoo.get_spec(i).family for i in IDS}
    assert families <= covered
    assert not set(KNOWN_GAPS) - set(IDS), "a known gap names a model that is no longer registered"
