"""ModelSpec.shipped_weights: weights inside a Python package are found offline, after an
explicit path and the user's local dir, before the HF cache; cards say where they are."""
from pathlib import Path

import pytest

import zoo
from zoo import hub


def _spec(**kw):
    return zoo.ModelSpec(id="fake-ship", family="fake", summary="s", task="component", **kw)


def _package(root: Path, name="fakezoo_ship"):
    pkg = root / name
    (pkg / "weights" / "fake-ship").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "weights" / "fake-ship" / "config.json").write_text("{}")
    return pkg / "weights" / "fake-ship"


def test_shipped_folder_found_in_order(tmp_path, monkeypatch, hf_cache):
    shipped = _package(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("ZOO_MODELS_DIR", str(tmp_path / "models"))
    spec = _spec(shipped_weights="fakezoo_ship:weights/fake-ship")
    assert hub.resolve(spec) == shipped  # offline, empty cache, no Hub repo
    explicit = tmp_path / "mine"
    explicit.mkdir()
    assert hub.resolve(spec, weights=explicit) == explicit  # an explicit path wins
    local = tmp_path / "models" / "fake-ship"
    local.mkdir(parents=True)
    (local / "config.json").write_text("{}")
    assert hub.resolve(spec) == local  # the user's own copy wins over the package's


def test_missing_or_empty_shipped_folder_falls_through(tmp_path, monkeypatch, hf_cache):
    shipped = _package(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (shipped / "config.json").unlink()  # empty folder
    for sw in ("fakezoo_ship:weights/fake-ship", "fakezoo_ship:weights/other", "no_such_pkg_zz:weights/x"):
        with pytest.raises(zoo.WeightsNotFoundError, match="no weights for 'fake-ship'"):
            hub.resolve(_spec(shipped_weights=sw))


def test_real_teacher_resolves_inside_its_package(hf_cache):
    import zoo_proving

    folder = hub.resolve(zoo.get_spec("mini-sd"))
    assert folder == Path(zoo_proving.__file__).parent / "weights" / "mini-sd"
    assert (folder / "model_index.json").exists()


def test_card_says_weights_ship_and_what_the_model_is():
    from zoo.cards.render import render_card

    text = str(render_card(zoo.get_spec("mini-sd"), records=[]))
    assert "shipped inside the `zoo_proving` package" in text and "works offline" in text
    assert "miniature model" in text.lower() and "load_digits" in text
    assert 'pretrained=False)   # no weights published' not in text
    assert "random by design" in str(render_card(zoo.get_spec("mini-sd-tiny"), records=[]))
