import pytest

import zoo
from zoo.errors import RegistryCollisionError, UnknownModelError, ZooError
from zoo.refs import parse_ref
from zoo.registry import Registry
from zoo.specs import ModelSpec


def spec(id_, family=None, **kw):
    return ModelSpec(id=id_, family=family or id_.split("-")[0], summary="s", task="text-to-image", **kw)


def test_wildcards_and_task_filter():
    reg = Registry()
    for i in ["nanosd-s", "nanosd-m", "nanosd-tiny", "sd15"]:
        reg.add_model(spec(i), plugin="p")
    assert [s.id for s in reg.list("nanosd-*")] == ["nanosd-m", "nanosd-s", "nanosd-tiny"]
    assert [s.id for s in reg.list(["sd*", "*-m"])] == ["nanosd-m", "sd15"]
    assert reg.list("*", task="super-resolution") == []


def test_collision_names_both_plugins():
    reg = Registry()
    reg.add_model(spec("nanosd-s"), plugin="alpha")
    with pytest.raises(RegistryCollisionError) as e:
        reg.add_model(spec("nanosd-s"), plugin="beta")
    assert "alpha" in str(e.value) and "beta" in str(e.value)


def test_alias_collides_with_id():
    reg = Registry()
    reg.add_model(spec("nanosd-m", aliases=["nanosd-prime"]), plugin="alpha")
    assert reg.get("nanosd-prime").id == "nanosd-m"
    with pytest.raises(RegistryCollisionError, match="alpha"):
        reg.add_model(spec("nanosd-prime"), plugin="gamma")


def test_unknown_id_suggests_close_matches():
    reg = Registry()
    reg.add_model(spec("nanosd-s"), plugin="p")
    reg.add_model(spec("nanosd-m"), plugin="p")
    with pytest.raises(UnknownModelError) as e:
        reg.get("nanosd-x")
    msg = str(e.value)
    assert "Did you mean" in msg and "nanosd-s" in msg


def test_id_format_is_validated():
    with pytest.raises(ValueError):
        spec("NanoSD S", family="nanosd")
    assert spec("nanosd-s.w8a16", family="nanosd").variant == "s"


def test_parse_refs():
    assert parse_ref("hf-hub:org/name@abc").revision == "abc"
    assert parse_ref("hf-hub:org/name").kind == "hf-hub"
    assert parse_ref("local-dir:/tmp/x").name == "/tmp/x"
    with pytest.raises(ZooError):
        parse_ref("hf-hub:noslash")
    with pytest.raises(ZooError):
        parse_ref("")


def test_installed_registry_lists_upstream():
    assert "sd15" in zoo.list_models("sd*")
    assert zoo.get_spec("sd15").plugin == "upstream"
