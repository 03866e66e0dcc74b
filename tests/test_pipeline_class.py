"""zoo.pipeline_class(id): the class a registered model builds, found without building it and without
importing the plugin that owns it (how one plugin composes another's model)."""
import pytest

import zoo
from zoo import ZooError


def test_diffusers_and_plugin_classes_are_the_built_ones():
    import diffusers

    assert zoo.pipeline_class("sd15-tiny") is diffusers.StableDiffusionPipeline
    cls = zoo.pipeline_class("tocsr-x4-tiny")  # exported by the zoo_tocsr package, not by diffusers
    assert cls.__name__ == "TOCSRPipeline" and type(zoo.build("tocsr-x4-tiny")) is cls
    assert zoo.pipeline_class(zoo.get_spec("tocsr-x4-tiny")) is cls  # a spec works as well as an id


def test_unknown_or_classless_models_are_one_line_errors():
    from zoo.testing import temporary_plugin

    with pytest.raises(zoo.UnknownModelError):
        zoo.pipeline_class("no-such-model-zz")

    class Plugin:
        @zoo.hookimpl
        def register_models(self, register):
            register(zoo.ModelSpec(id="pc-component", family="pc", summary="s", task="component"))
            register(zoo.ModelSpec(id="pc-missing", family="pc", summary="s", task="text-to-image",
                                   pipeline_class="NoSuchPipelineZZ"))

    with temporary_plugin(Plugin(), "pc-test"):
        with pytest.raises(ZooError, match="declares no pipeline_class") as exc:
            zoo.pipeline_class("pc-component")
        assert "\n" not in str(exc.value)
        with pytest.raises(ZooError, match="neither in diffusers nor exported by its plugin 'pc-test'"):
            zoo.pipeline_class("pc-missing")
