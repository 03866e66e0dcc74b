"""`zoo bench` on a tiny pattern: the table, JSON, records and Pareto plot are written."""
import json

from zoo.bench import BenchConfig, reported_by_component
from zoo.evaluate.pareto import pareto_front
from zoo.cli import main


def test_bench_cli_on_tiny_pattern(tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(["bench", "--pattern", "nanosd-tiny", "--quick", "--repeats", "1", "--warmup", "0", "--threads", "1",
               "--out", str(out)])
    assert rc == 0
    for name in ("bench.md", "bench.json", "records.json", "pareto.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "bench.json").read_text())
    rows = {r["component"]: r for r in data["rows"]}
    assert set(rows) == {"text_encoder", "unet", "vae_decoder", "vae_encoder"}
    assert rows["unet"]["backbone"] and rows["unet"]["params"] > 0 and rows["unet"]["macs"] > rows["unet"]["attention_macs"] > 0
    assert all(r["latency_ms"] > 0 for r in rows.values())  # tiny: everything fits the quick budget
    # timed in rounds beside its teacher's denoiser (sd15-tiny, not in the pattern): ratio recorded
    assert rows["unet"]["teacher"] == "sd15-tiny" and rows["unet"]["teacher_ratio"] > 0
    assert data["threads"] == 1 and "load_before" in data and "load_after" in data
    md = (out / "bench.md").read_text()
    assert "| nanosd-tiny | unet * |" in md and "x sd15-tiny |" in md and "pinned to 1" in md
    assert "nanosd-tiny" in capsys.readouterr().out
    recs = json.loads((out / "records.json").read_text())
    assert any(r["metric"] == "latency_ratio_to_teacher" and r["settings"]["teacher"] == "sd15-tiny" for r in recs)


def test_tiny_variants_are_skipped_by_default():
    from zoo.bench import select_specs

    ids = [s.id for s in select_specs(BenchConfig(pattern="sd15*"))]
    assert "sd15" in ids and "sd15-tiny" not in ids


def test_reported_figures_split_per_component():
    import zoo

    spec = zoo.get_spec("sd15").model_copy(update={"reported": {"unet_params_m": 859.52, "unet_gmacs": 401.6,
                                                                "npu_latency_ms": 58.0, "vae_decoder_params_b": 0.05}})
    rep = reported_by_component(spec)
    assert rep["unet"] == {"params_m": 859.52, "gmacs": 401.6, "npu_latency_ms": 58.0}
    assert rep["vae_decoder"] == {"params_m": 50.0}


def test_pareto_front():
    pts = [(1, 5), (2, 2), (3, 3), (5, 1), (2, 6)]
    assert pareto_front(pts) == [0, 1, 3]


def test_pareto_panels_never_mix_resolutions():
    from zoo.bench import Row
    from zoo.bench.plot import _panels

    rows = [Row("a", "unet", "t", params=10, macs=10**9, backbone=True, resolution=512),
            Row("b", "unet", "t", params=20, macs=2 * 10**9, backbone=True, resolution=1024, latency_ms=5.0,
                latency_macs=10**8, latency_res=256),
            Row("c", "unet", "t", params=5, macs=3 * 10**9, backbone=True, resolution=512, latency_ms=4.0,
                latency_macs=10**8, latency_res=128)]
    titles = [p[0] for p in _panels(rows)]
    assert titles == ["Denoiser size vs compute, 512px", "Denoiser size vs compute, 1024px",
                      "Measured CPU latency, timed at 128px", "Measured CPU latency, timed at 256px"]
