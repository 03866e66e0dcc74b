"""The paper's policy claim on the proving ground's trained mini-sd (fast: few prompts, few steps):
PHAST, searched on calibration seeds, keeps at least HURRY's PSNR against full compute on
held-out seeds at the same reuse count. The full comparison is benchmarks/attention_reuse_mini.py."""
import pytest

import zoo

STEPS, REUSE, N = 10, 5, 10


@pytest.fixture(scope="module")
def mini_sd():
    try:
        pipe = zoo.load("mini-sd")
    except zoo.WeightsNotFoundError as exc:  # the proving ground ships them once trained
        pytest.skip(f"mini-sd weights not available: {exc}")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_phast_psnr_at_least_hurry_on_held_out_seeds(mini_sd):
    import zoo_attnreuse
    from zoo_attnreuse import harness
    from zoo_attnreuse.phast import search

    harness.use_sampler(mini_sd, "DDIMScheduler")
    conds = harness.conditions(zoo.get_spec("mini-sd"), N)
    ctrl = zoo_attnreuse.apply(mini_sd, {"policy": "none"}, model_id="mini-sd")
    try:
        ref_cal, ref_ev = harness.render(mini_sd, conds, 1000, STEPS), harness.render(mini_sd, conds, 0, STEPS)

        def psnr(steps, seed, ref):
            ctrl.cfg = zoo_attnreuse.parse_config({"policy": "steps", "steps": list(steps)})
            return harness.mean_psnr(harness.render(mini_sd, conds, seed, STEPS), ref)

        found = search(lambda s: psnr(s, 1000, ref_cal), STEPS, REUSE, max_evals=15, progress=False)
        hurry_ev = psnr(found["hurry_steps"], 0, ref_ev)
        phast_ev = psnr(found["reuse_steps"], 0, ref_ev)
    finally:
        zoo_attnreuse.remove(mini_sd)
    assert found["moves"], "HURRY was already a local optimum on mini-sd: nothing for PHAST to show"
    assert len(found["reuse_steps"]) == REUSE and 0 not in found["reuse_steps"]
    assert phast_ev >= hurry_ev, f"held-out PSNR: PHAST {phast_ev:.2f} dB < HURRY {hurry_ev:.2f} dB"
