"""`zoo bench` on a tiny pattern: the table, JSON, records and Pareto plot are written."""
import json

from zoo.bench import BenchConfig, reported_by_component
from zoo.evaluate.pareto import pareto_front
from zoo.cli import main


def test_bench_cli_on_tiny_pattern(tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(["bench", "--pattern", "sd15-tiny", "--quick", "--repeats", "1", "--warmup", "0", "--out", str(out)])
    assert rc == 0
    for name in ("bench.md", "bench.json", "records.json", "pareto.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "bench.json").read_text())
    rows = {r["component"]: r for r in data["rows"]}
    assert set(rows) == {"text_encoder", "unet", "vae_decoder", "vae_encoder"}
    assert rows["unet"]["backbone"] and rows["unet"]["params"] > 0 and rows["unet"]["macs"] > rows["unet"]["attention_macs"] > 0
    assert all(r["latency_ms"] > 0 for r in rows.values())  # tiny: everything fits the quick budget
    md = (out / "bench.md").read_text()
    assert "| sd15-tiny | unet * |" in md
    assert "sd15-tiny" in capsys.readouterr().out


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
