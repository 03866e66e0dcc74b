"""NanoSD training output is atomic: every file `zoo train nanosd-*` (and the zoo.distill engine
under it) leaves in its --out folder was renamed into place by zoo.atomic from a partial
sibling, with the user's normal permissions; a run interrupted while saving the pipeline leaves
no pipeline folder and no partial, and the resumed run finishes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import zoo
from zoo import atomic

# A micro run of the whole recipe: two options per stage (6 candidate blocks), one step each; the
# constrained search names its pick (the Pareto mode's pick needs the variant's costs: slow on CPU).
MICRO = {
    "teacher": "sd15-tiny", "teacher_pretrained": False, "device": "cpu", "seed": 0,
    "reference": "surgery", "student": "search",
    "option_sets": {"encoder": ["RARA", "R"], "decoder": ["RARARA", "R"]},
    "dataset": {"n_samples": 6, "n_eval": 2, "latents": "random"},
    "capture": {"n_batches": 1, "batch_size": 2},
    "blocks": {"steps": 1, "checkpoint_every": 1},
    "search": {"n_trials": 2, "n_startup_trials": 2, "seed": 0, "mode": "constrained", "epsilon": 1e9},
    "eval_batches": 1, "eval_batch_size": 2,
    "vae": {"steps": 1, "batch_size": 2, "checkpoint_every": 1},
    "align": {"steps": 1, "batch_size": 2, "checkpoint_every": 1},
}
# optuna's study log: an append-only journal optuna writes itself (one small line per write,
# and its reader drops a torn last line); resume needs it to grow in place, so it cannot be renamed in.
APPEND_LOGS = {"search/study.journal"}


def _train(out: Path, **over) -> None:
    from zoo_nanosd.train import train_nanosd

    train_nanosd(zoo.get_spec("nanosd-tiny"), {**MICRO, "out_dir": str(out), **over}, progress=False)


class Interrupted(KeyboardInterrupt):
    pass


def test_every_training_output_is_renamed_into_place(tmp_path, monkeypatch):
    out = tmp_path / "run"
    renamed: set[Path] = set()
    real_replace, real_swap = os.replace, atomic.swap_in

    def replace(src, dst, *a, **k):  # what zoo.atomic renames in from a partial sibling
        real_replace(src, dst, *a, **k)
        if atomic.pid_of(src) == os.getpid() and ".partial-" in Path(src).name:
            renamed.add(Path(dst).absolute())

    def killed_before_rename(new, final):
        if final.name == "pipeline":  # the pipeline is complete in its partial folder: interrupt now
            raise Interrupted
        real_swap(new, final)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(atomic, "swap_in", killed_before_rename)
    old_umask = os.umask(0o022)
    try:
        with pytest.raises(Interrupted):
            _train(out)
        assert not (out / "pipeline").exists() and not (out / "align.done.json").exists()
        assert [p for p in out.rglob("*") if atomic.pid_of(p)] == []  # the writer removed its own partial
        assert (out / "vae.done.json").is_file()  # the finished stages stay done

        monkeypatch.setattr(atomic, "swap_in", real_swap)
        _train(out, resume=True)  # skips block/search/vae, redoes align from its checkpoint
    finally:
        os.umask(old_umask)

    files = [p for p in out.rglob("*") if p.is_file()]
    assert (out / "pipeline" / "unet" / "diffusion_pytorch_model.safetensors") in files
    assert {"data/data.safetensors", "capture/index.json", "blocks/summary.json", "search/search.json",
            "search/pareto.png", "search/evaluated.jsonl", "vae/vae.safetensors", "report.json",
            "config.json"} <= {p.relative_to(out).as_posix() for p in files}
    not_atomic = [p.relative_to(out).as_posix() for p in files
                  if p.relative_to(out).as_posix() not in APPEND_LOGS
                  and not ({p.absolute(), *p.absolute().parents} & renamed)]
    assert not_atomic == [], f"written in place, not through zoo.atomic: {not_atomic}"
    assert [p for p in out.rglob("*") if atomic.pid_of(p)] == []
    modes = {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in [out, *out.rglob("*")]}
    assert {m for m in modes.values()} <= {"0o644", "0o755"}, modes
