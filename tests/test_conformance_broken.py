"""Each conformance check can fail: a deliberately broken class (tests/conformance_broken.py)
in an otherwise stock sd15-tiny pipeline is caught by the check for what it breaks, and
declared-unsupported capabilities are checked for a proper refusal."""
from __future__ import annotations

import copy

import pytest

import conformance_broken as broken

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def sd15():
    import torch

    import zoo

    torch.manual_seed(0)
    return zoo.build("sd15-tiny")


@pytest.fixture(scope="module")
def control(sd15):
    """Every check on the stock pipeline, once: each must pass for its broken twin to mean anything."""
    from zoo.conformance import check_conformance

    return check_conformance("sd15-tiny", pipe=sd15, raise_on_failure=False)


def _swap(pipe, name, cls):
    """A copy of ``pipe`` whose component ``name`` is ``cls`` with the same config and weights."""
    new = copy.deepcopy(pipe)
    comp = getattr(new, name)
    swapped = cls.from_config(comp.config)
    swapped.load_state_dict(comp.state_dict())
    swapped.eval()
    new.register_modules(**{name: swapped})
    return new


def _repipe(pipe, cls):
    return cls(**copy.deepcopy(pipe).components)


def _status(pipe, check, spec_id="sd15-tiny"):
    from zoo.conformance import check_conformance

    return check_conformance(spec_id, pipe=pipe, checks=[check], raise_on_failure=False)[check]


def _unsaved(pipe):
    p = _swap(pipe, "unet", broken.UnsavedStateUNet)
    p.unet.gain = 3.0
    return p


BROKEN = {
    "save_load": _unsaved,
    "batch": lambda p: _swap(p, "unet", broken.BatchMixingUNet),
    "dtype": lambda p: _swap(p, "unet", broken.Float32UNet),
    "callbacks": lambda p: _repipe(p, broken.NoCallbackPipeline),
    "scheduler_swap": lambda p: _repipe(p, broken.EtaAlwaysPipeline),
    "attention_slicing": lambda p: _swap(p, "unet", broken.NoSlicingUNet),
    "vae_slicing": lambda p: _swap(p, "vae", broken.NoSlicingVAE),
    "vae_tiling": lambda p: _swap(p, "vae", broken.NoTilingVAE),
    "freeu": lambda p: _swap(p, "unet", broken.NoFreeUUNet),
    "fused_qkv": lambda p: _swap(p, "unet", broken.UnfusedUNet),
    "attn_processor": lambda p: _swap(p, "unet", broken.NoResetUNet),
    "lora": lambda p: _swap(p, "unet", broken.NoLoraScaleUNet),
    "ip_adapter": lambda p: _swap(p, "unet", broken.NoIPAdapterUNet),
}


def test_every_check_has_a_broken_class():
    from zoo.conformance import CHECKS

    assert set(BROKEN) == set(CHECKS)


@pytest.mark.parametrize("check", list(BROKEN))
def test_broken_class_is_caught(sd15, control, check):
    assert control[check] == "ok"  # the stock control passes ...
    status = _status(BROKEN[check](sd15), check)
    assert status.startswith("FAILED"), status  # ... the broken class does not


def test_declared_unsupported_is_refused_in_one_line(sd15):
    import zoo
    from zoo.capabilities import UnsupportedCapabilityError
    from zoo.conformance import check_conformance

    spec = zoo.get_spec("sd15-tiny").model_copy(update={"unsupported": {"freeu": "no skip features to filter."}})
    pipe = zoo.build(spec)  # the build installs the refusal the spec declares
    with pytest.raises(UnsupportedCapabilityError) as err:
        pipe.enable_freeu(s1=0.9, s2=0.2, b1=1.2, b2=1.4)
    assert str(err.value) == "sd15-tiny does not support FreeU: no skip features to filter"
    assert isinstance(err.value, zoo.ZooError)
    assert check_conformance(spec, pipe=pipe, checks=["freeu", "attention_slicing"]) == {
        "freeu": "refused", "attention_slicing": "ok"}


def test_declared_but_silently_working_fails(sd15):
    import zoo
    from zoo.conformance import check_conformance

    spec = zoo.get_spec("sd15-tiny").model_copy(update={"unsupported": {"vae_tiling": "reason"}})
    status = check_conformance(spec, pipe=sd15, checks=["vae_tiling"], raise_on_failure=False)["vae_tiling"]
    assert status.startswith("FAILED") and "did not refuse" in status


def test_refused_but_not_declared_fails(sd15):
    from zoo.capabilities import install_refusals

    pipe = copy.deepcopy(sd15)
    install_refusals(pipe, "sd15-tiny", {"lora": "reason"})
    status = _status(pipe, "lora")
    assert status.startswith("FAILED") and "not declared" in status


def test_spec_rejects_unknown_or_unexplained_capabilities():
    import pydantic

    import zoo

    base = zoo.get_spec("sd15-tiny").model_dump()
    for bad in ({"flux_capacitor": "why"}, {"freeu": "  "}):
        with pytest.raises(pydantic.ValidationError):
            zoo.ModelSpec(**{**base, "unsupported": bad, "plugin": None})


def test_failures_are_listed_per_model():
    import torch

    import zoo
    from zoo.conformance import ConformanceError, check_conformance

    torch.manual_seed(0)
    pipe = _swap(zoo.build("sd15-tiny"), "unet", broken.NoFreeUUNet)
    with pytest.raises(ConformanceError, match=r"sd15-tiny \(StableDiffusionPipeline\) fails 1 conformance check"):
        check_conformance("sd15-tiny", pipe=pipe, checks=["freeu", "batch"])
