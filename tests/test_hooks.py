"""One test per hook: each is dispatched to the plugin that owns the model, through the public API."""
import pytest

import zoo
from zoo.testing import temporary_plugin


def _spec(id_, **kw):
    base = zoo.get_spec("sd15-tiny")
    return base.model_copy(update={"id": id_, "family": id_.rsplit("-", 1)[0], "plugin": None, **kw})


class Owner:
    """A plugin owning 'owner-tiny', recording every hook call it gets."""

    def __init__(self):
        self.calls = []

    @zoo.hookimpl
    def register_models(self, register):
        register(_spec("owner-tiny"))

    @zoo.hookimpl
    def register_techniques(self, register):
        register(zoo.TechniqueSpec(id="mark", summary="tags the model", applies_to=["owner*"]))

    @zoo.hookimpl
    def build_model(self, spec):
        self.calls.append(("build", spec.id))
        from zoo.building import build_from_config

        return build_from_config(spec.config)

    @zoo.hookimpl
    def apply_technique(self, technique, spec, model, config):
        self.calls.append(("apply", technique.id, config.get("level")))
        model.marked = config.get("level", 1)
        return model


class Bystander:
    """Another plugin implementing build_model: must never be called for someone else's model."""

    def __init__(self):
        self.calls = []

    @zoo.hookimpl
    def register_models(self, register):
        register(_spec("bystander-tiny"))

    @zoo.hookimpl
    def build_model(self, spec):
        self.calls.append(("build", spec.id))
        return None  # fall back to the core's config builder


@pytest.fixture
def plugins():
    owner, other = Owner(), Bystander()
    with temporary_plugin(owner, "owner"), temporary_plugin(other, "bystander"):
        yield owner, other


def test_hook_register_models(plugins):
    assert zoo.list_models("owner-*") == ["owner-tiny"]
    assert zoo.get_spec("owner-tiny").plugin == "owner"
    assert zoo.get_spec("bystander-tiny").plugin == "bystander"


def test_hook_register_techniques(plugins):
    assert "mark" in zoo.list_techniques("owner-tiny")
    assert "mark" not in zoo.list_techniques("bystander-tiny")
    assert zoo.get_registry().technique("mark").plugin == "owner"


def test_hook_build_model(plugins):
    owner, other = plugins
    model = zoo.build("owner-tiny")
    assert owner.calls == [("build", "owner-tiny")] and other.calls == []
    assert zoo.spec_of(model).id == "owner-tiny"
    zoo.build("bystander-tiny")  # its hook returns None: the core builds from spec.config
    assert other.calls == [("build", "bystander-tiny")] and len(owner.calls) == 1


def test_hook_apply_technique(plugins):
    owner, _ = plugins
    model = zoo.load("owner-tiny", pretrained=False, techniques={"mark": {"level": 3}})
    assert model.marked == 3 and ("apply", "mark", 3) in owner.calls
    with pytest.raises(zoo.ZooError, match="does not apply"):
        zoo.load("bystander-tiny", pretrained=False, techniques=["mark"])
    with pytest.raises(zoo.UnknownModelError, match="technique"):
        zoo.load("owner-tiny", pretrained=False, techniques=["nope"])
