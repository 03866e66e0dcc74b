"""PHAST: the greedy schedule search, and `zoo train ID --recipe phast` storing a schedule the
technique then finds (tiny random model: plumbing; the quality claim is on mini-sd)."""
import json

import pytest

import zoo


def test_neighbours_shift_first_then_swap_keep_r_and_never_touch_step_0():
    from zoo_attnreuse.phast import neighbours

    got = list(neighbours((4, 5), 6))
    assert got[0] == (3, 5)  # the only +-1 shift (5 has no free neighbour)
    assert set(got[1:]) == {(1, 5), (2, 5), (1, 4), (2, 4), (3, 4)}
    assert all(len(c) == 2 and 0 not in c for c in got)


def test_search_climbs_to_a_local_optimum_from_hurry():
    from zoo_attnreuse.phast import search

    target = {2, 3}
    found = search(lambda s: -sum(min(abs(x - t) for t in target) for x in s), total=8, reuse=2, progress=False)
    assert found["hurry_steps"] == [6, 7] and found["reuse_steps"] == [2, 3]
    assert found["local_optimum"] and found["psnr"] > found["hurry_psnr"]
    assert all(m["psnr"] > found["hurry_psnr"] for m in found["moves"])


def test_search_stops_at_the_budget():
    from zoo_attnreuse.phast import search

    found = search(lambda s: -sum(s), total=10, reuse=3, max_evals=3, progress=False)
    assert found["evaluations"] <= 3 and not found["local_optimum"]


def test_recipe_through_zoo_train_writes_a_schedule_the_technique_uses(tmp_path, capsys):
    import zoo_attnreuse
    from diffusers import DDIMScheduler
    from zoo.cli import main

    cfg = tmp_path / "phast.yaml"
    cfg.write_text("steps: 4\nreuse: 2\nnum_prompts: 2\nmax_evals: 4\nsampler: DDIMScheduler\nprogress: false\n")
    out = tmp_path / "run"
    assert main(["train", "sd15-tiny", "--recipe", "phast", "--random-teacher", "--config", str(cfg), "--out", str(out)]) == 0
    assert "PHAST sd15-tiny DDIMScheduler T=4 R=2" in capsys.readouterr().out
    [path] = out.glob("*.json")
    data = json.loads(path.read_text())
    assert (data["model"], data["sampler"], data["steps"], data["reuse_count"]) == ("sd15-tiny", "DDIMScheduler", 4, 2)
    assert len(data["reuse_steps"]) == 2 and data["psnr"] >= data["hurry_psnr"] and data["evaluations"] <= 4
    assert len(data["denoiser_sha256"]) == 64

    pipe = zoo.load("sd15-tiny", pretrained=False, techniques={"attention-reuse": {"policy": "phast", "reuse": 2}})
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    pipe("a cat", num_inference_steps=4, output_type="np")
    assert zoo_attnreuse.controller_of(pipe).reuse_steps() == data["reuse_steps"]


@pytest.mark.parametrize("yaml, match", [("reuse: 20\nsteps: 4\nsampler: DDIMScheduler\n", "between 0 and 3"),
                                         ("max_evals: 0\n", "max_evals"),
                                         ("sampler: NoSuchScheduler\n", "unknown sampler")])
def test_recipe_errors_are_one_line(tmp_path, capsys, yaml, match):
    from zoo.cli import main

    cfg = tmp_path / "phast.yaml"
    cfg.write_text(yaml)
    assert main(["train", "sd15-tiny", "--recipe", "phast", "--random-teacher", "--config", str(cfg),
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_shipped_schedules_are_valid_and_found_by_the_technique():
    from zoo_attnreuse.schedules import SHIPPED, load_schedule, schedule_name

    files = sorted(SHIPPED.glob("*.json"))
    assert files, "the plugin ships PHAST schedules for the proving-ground teachers"
    for f in files:
        data = json.loads(f.read_text())
        assert f.name == schedule_name(data["model"], data["sampler"], data["steps"], data["reuse_count"])
        assert len(data["reuse_steps"]) == data["reuse_count"] and 0 not in data["reuse_steps"]
        assert max(data["reuse_steps"]) < data["steps"] and data["psnr"] >= data["hurry_psnr"]
        assert data["calibration"]["pretrained"] is True  # searched on trained weights, not random ones
        assert len(data["denoiser_sha256"]) == 64  # names the weights it was searched on
        assert load_schedule(data["model"], data["sampler"], data["steps"], data["reuse_count"]) == data
    assert any(f.name.startswith("mini-sd--") for f in files)
