"""The field's baseline in the same harness: diffusers' PyramidAttentionBroadcast on the PixArt
transformer (tiny random model: plumbing; its numbers come from benchmarks/attention_reuse_mini.py)."""
import numpy as np

import zoo


def test_pab_runs_repeatably_through_the_harness_and_is_removable():
    from zoo_attnreuse import harness
    from zoo_attnreuse.pab import apply_pab

    pipe = zoo.load("pixart-sigma-tiny", pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    conds, kw = ["a red car", "a cat"], dict(size=64, use_resolution_binning=False)
    stock = harness.render(pipe, conds, 0, 10, **kw)
    handle = apply_pab(pipe)
    first = harness.render(pipe, conds, 0, 10, **kw)
    second = harness.render(pipe, conds, 0, 10, **kw)  # per-run state is reset: the same images again
    handle.remove()
    assert np.array_equal(first, second) and not np.array_equal(first, stock)
    assert np.isfinite(harness.mean_psnr(first, stock))
    assert np.array_equal(harness.render(pipe, conds, 0, 10, **kw), stock)
