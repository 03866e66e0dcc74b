"""The paper's policy claim on the proving ground's trained mini-sd: PHAST keeps at least HURRY's
PSNR against full compute at the same reuse count, on seeds the search never saw. The full
comparison (and PAB, plain steps, MACs, time) is benchmarks/attention_reuse_mini.py."""
import pytest

import zoo

N = 10  # held-out conditions: the digits prompts 0-9, seeds 0..9 (the shipped schedule saw seeds 1000+)


@pytest.fixture(scope="module")
def mini_sd():
    try:
        pipe = zoo.load("mini-sd", techniques={"attention-reuse": {"policy": "none"}})
    except zoo.WeightsNotFoundError as exc:  # the proving ground ships them
        pytest.skip(f"mini-sd weights not available: {exc}")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _psnr_of(pipe, ctrl, config, conds, reference):
    import zoo_attnreuse
    from zoo_attnreuse import harness

    ctrl.cfg = zoo_attnreuse.parse_config(config)
    return harness.mean_psnr(harness.render(pipe, conds, 0, 20), reference)


def test_shipped_phast_schedule_beats_hurry_on_held_out_seeds(mini_sd):
    import zoo_attnreuse
    from zoo_attnreuse import harness

    ctrl = zoo_attnreuse.controller_of(mini_sd)
    assert type(mini_sd.scheduler).__name__ == "DDIMScheduler"  # the sampler the schedule was searched for
    conds = harness.conditions(zoo.get_spec("mini-sd"), N)
    reference = harness.render(mini_sd, conds, 0, 20)
    hurry = _psnr_of(mini_sd, ctrl, {"policy": "hurry", "reuse": 10}, conds, reference)
    phast = _psnr_of(mini_sd, ctrl, {"policy": "phast", "reuse": 10}, conds, reference)
    shipped = zoo_attnreuse.load_schedule("mini-sd", "DDIMScheduler", 20, 10)
    assert shipped["denoiser_sha256"] == harness.denoiser_fingerprint(mini_sd), (
        "mini-sd's weights changed since its PHAST schedule was searched: re-run `python "
        "benchmarks/attention_reuse_mini.py --save plugins/zoo_attnreuse/schedules`")
    assert ctrl.reuse_steps() == shipped["reuse_steps"] != list(range(10, 20))
    assert phast >= hurry, f"held-out PSNR: PHAST {phast:.2f} dB < HURRY {hurry:.2f} dB"


@pytest.mark.slow
def test_a_fresh_search_at_10_steps_beats_hurry_on_held_out_seeds(mini_sd):
    import zoo_attnreuse
    from zoo_attnreuse import harness
    from zoo_attnreuse.phast import phast_schedule

    conds = harness.conditions(zoo.get_spec("mini-sd"), N)
    ctrl = zoo_attnreuse.controller_of(mini_sd)
    ctrl.remove()
    try:
        found = phast_schedule(mini_sd, "mini-sd", conds, steps=10, reuse=5, seed=1000, max_evals=30, progress=False)
    finally:
        ctrl = zoo_attnreuse.apply(mini_sd, {"policy": "none"}, model_id="mini-sd")
    reference = harness.render(mini_sd, conds, 0, 10)

    def psnr(steps):
        ctrl.cfg = zoo_attnreuse.parse_config({"policy": "steps", "steps": steps})
        return harness.mean_psnr(harness.render(mini_sd, conds, 0, 10), reference)

    assert found["moves"], "HURRY was already a local optimum: nothing for PHAST to show"
    assert psnr(found["reuse_steps"]) >= psnr(found["hurry_steps"])
