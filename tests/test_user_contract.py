"""The user contract: a bad input is one line on stderr and exit 2 (no traceback), checked
before anything is built or downloaded; hints speak the caller's language."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo import hub, loading
from zoo.cli import main
from zoo.errors import InvalidInputError, UnsafeCheckpointError, WeightsNotFoundError, ZooError
from zoo.testing import temporary_plugin

from helpers import write_hf_cache


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse exits; main() returns
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a model is built or weights are resolved (validation must come first)."""
    def boom(*a, **k):
        raise AssertionError("a model was built or downloaded before the inputs were checked")

    monkeypatch.setattr(loading, "build", boom)
    monkeypatch.setattr(hub, "resolve", boom)
    monkeypatch.setattr(hub, "snapshot_problems", boom)


# argv -> a phrase the one-line message must contain
BAD_INPUTS = [
    (["run", "sd15-tiny", "--random-init", "--steps", "0"], "must be >= 1"),
    (["run", "sd15-tiny", "--random-init", "--steps", "-1"], "must be >= 1"),
    (["run", "sd15-tiny", "--random-init", "--steps", "2.5"], "not a whole number"),
    (["run", "sd15-tiny", "--random-init", "--size", "65"], "multiple of 8"),
    (["run", "sd15-tiny", "--random-init", "--size", "20000"], "outside this model's range"),
    (["run", "sd15-tiny", "--random-init", "--size", "0"], "must be >= 1"),
    (["run", "sd15-tiny", "--random-init", "--device", "cuda"], "--device cpu"),
    (["run", "sd15-tiny", "--random-init", "--device", "cuda:3"], "not available"),
    (["run", "sd15-tiny", "--random-init", "--device", "gpu0"], "unknown device"),
    (["run", "sd15-tiny", "--random-init", "--technique", "no-such-technique"], "unknown technique id 'no-such-technique'"),
    (["run", "sd15-tiny", "--random-init", "--out", "/proc/zoo.png"], "cannot write"),
    (["run", "sd15-tiny", "--random-init", "--out", "image.txt"], "image file name"),
    (["run", "sd15-tinyy"], "Did you mean: sd15-tiny"),
    (["run", "hf-hub:bad"], "expected hf-hub:ORG/NAME"),
    (["train", "nanosd-s", "--device", "cuda"], "not available"),
    (["train", "nanosd-s", "--device", "nope"], "unknown device"),
    (["export", "sd15-tiny", "--calibration-samples", "0"], "must be >= 1"),
    (["export", "sd15-tiny", "--palettize", "5"], "invalid choice"),
    (["export", "sd15-tiny", "--component", "nope", "--random-init"], "no component"),
    (["eval", "sd15-tiny", "--repeats", "0"], "must be >= 1"),
    (["eval", "sd15-tiny", "--suite", "sr", "--steps", "-1"], "must be >= 1"),
    (["bench", "--warmup", "-2"], "must be >= 0"),
    (["fetch", "nope-model"], "unknown model id"),
    (["list", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("argv,phrase", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2(argv, phrase, capsys, nothing_built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(capsys, *argv)
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert phrase in lines[0]
    assert "Traceback" not in err + out


def test_missing_weights_hints_speak_the_callers_language(capsys):
    # CLI: flags
    rc, _, err = cli(capsys, "run", "nanosd-s")
    assert rc == 2 and "--weights DIR" in err and "--random-init" in err and "pretrained=" not in err
    assert "`zoo train nanosd-s`" in err  # NanoSD's plugin has a train_model hook
    # Python: arguments
    with pytest.raises(WeightsNotFoundError) as exc:
        zoo.load("nanosd-s")
    assert "weights=PATH" in str(exc.value) and "pretrained=False" in str(exc.value) and "--" not in str(exc.value)


def test_tiny_variant_says_random_by_design(capsys):
    rc, _, err = cli(capsys, "run", "sd15-tiny")
    assert rc == 2 and "random by design" in err and "--random-init" in err and "zoo train" not in err


def test_train_suggested_only_when_the_plugin_has_a_train_hook():
    base = zoo.get_spec("sd15-tiny")

    class NoTrain:
        @zoo.hookimpl
        def register_models(self, register):
            register(base.model_copy(update={"id": "notrain-m", "family": "notrain", "hub_repo": None, "plugin": None}))

    with temporary_plugin(NoTrain(), "notrain"):
        with pytest.raises(WeightsNotFoundError) as exc:
            zoo.load("notrain-m")
    assert "zoo train" not in str(exc.value) and "pretrained=False" in str(exc.value)


def test_offline_hint_keeps_prefix_and_revision(capsys):
    rc, _, err = cli(capsys, "run", "hf-hub:someorg/somemodel@v1.2")
    assert rc == 2 and "`zoo fetch hf-hub:someorg/somemodel@v1.2`" in err
    rc, _, err = cli(capsys, "run", "sd15", "--revision", "abc123")
    assert rc == 2 and "`zoo fetch sd15 --revision abc123`" in err


def test_pickle_only_snapshot_says_pickle(tmp_path, hf_cache):
    src = tmp_path / "src"
    (src / "unet").mkdir(parents=True)
    (src / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    (src / "unet" / "config.json").write_text("{}")
    write_hf_cache(hf_cache, "someorg/pickled", src)
    with pytest.raises(UnsafeCheckpointError, match="pickle"):
        zoo.load("hf-hub:someorg/pickled")


def test_cuda_device_refused_before_any_build(nothing_built):
    with pytest.raises(ZooError, match="not available") as exc:
        zoo.load("sd15", device="cuda")
    assert "device='cpu'" in str(exc.value)  # Python wording
    with pytest.raises(InvalidInputError):
        zoo.load("sd15", device="cuda:1")
    with pytest.raises(InvalidInputError, match="unknown device"):
        zoo.load("sd15", device="tpu9")


def test_build_checks_the_device_first():
    with pytest.raises(InvalidInputError, match="not available"):
        zoo.build("sd15", device="cuda")  # full size: would take seconds if it were built first


def test_dtypes_and_techniques_checked_before_build(nothing_built):
    for bad in (torch.float8_e4m3fn, torch.float8_e5m2, "fp8", torch.int8):
        with pytest.raises(InvalidInputError, match="unsupported dtype"):
            zoo.load("sd15", dtype=bad)
    # a string is one technique, not its letters
    with pytest.raises(ZooError, match="unknown technique id 'abc'"):
        zoo.load("sd15", techniques="abc")


def test_tiny_load_with_good_inputs_still_works():
    pipe = zoo.load("sd15-tiny", pretrained=False, device="cpu", dtype="fp32")
    assert zoo.spec_of(pipe).id == "sd15-tiny"


def test_zoo_run_writes_outside_the_checkout_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZOO_OUTPUT_DIR", str(tmp_path / "outputs"))
    rc, out, err = cli(capsys, "run", "sd15-tiny", "--random-init", "--steps", "1")
    assert rc == 0, err
    assert list(tmp_path.glob("*.png")) == [] and (tmp_path / "outputs" / "sd15-tiny-0.png").is_file()
    assert "torchvision" not in err


def test_pixart_tiny_runs_at_its_own_size(tmp_path, capsys):
    rc, out, err = cli(capsys, "run", "pixart-sigma-tiny", "--random-init", "--steps", "1", "--out", str(tmp_path / "p.png"))
    assert rc == 0, err
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size == (64, 64)


# -- listing tells the truth -----------------------------------------------------------------
def test_failed_plugin_is_named_by_list_and_unknown_id(capsys, monkeypatch):
    monkeypatch.setenv("ZOO_STRICT_PLUGINS", "0")

    class Broken:
        @zoo.hookimpl
        def register_models(self, register):
            raise ImportError("no module named 'missing_dependency'")

    with temporary_plugin(Broken(), "brokenplug"):
        rc, out, err = cli(capsys, "list")
        assert rc == 0 and "sd15-tiny" in out
        assert err.strip().splitlines() == [err.strip()] and "brokenplug" in err and "zoo plugins" in err
        rc, out, err = cli(capsys, "info", "brokenplug-model")
        assert rc == 2 and "failed to load: brokenplug" in err and len(err.strip().splitlines()) == 1


def test_plugins_flags_unknown_hook_names(capsys):
    class Typo:
        @zoo.hookimpl
        def register_modles(self, register):  # misspelt: pluggy accepts it, the zoo never calls it
            pass

    with temporary_plugin(Typo(), "typoplug"):
        rc, out, _ = cli(capsys, "plugins")
    line = out[out.index("typoplug"):]
    assert rc == 0 and "unknown hook(s) register_modles" in line


def test_list_techniques_says_when_none(capsys, monkeypatch):
    reg = zoo.get_registry()
    monkeypatch.setattr(reg, "techniques", {})
    rc, out, _ = cli(capsys, "list", "--techniques")
    assert rc == 0 and "no techniques are registered" in out


def test_summaries_cut_at_a_word():
    from zoo.cli.listing import cut

    text = "DiT-XL/2 tiny. Same classes and block layout as the teacher at toy widths for tests"
    got = cut(text, 40)
    assert got.endswith("…") and len(got) <= 40 and text.startswith(got[:-1]) and text[len(got) - 1] == " "
    assert cut("short", 40) == "short"
