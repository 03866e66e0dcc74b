"""The FraQAT ablation script's plumbing on the proving ground's tiny pixart (random weights:
this checks the script runs end to end and prints every row, not the paper's claim)."""
from fraqat_helpers import benchmark


def test_fraqat_mini_plumbing(capsys, tmp_path):
    fraqat_mini = benchmark("fraqat_mini", needs="mini-pixart-tiny")
    out = tmp_path / "rows.json"
    assert fraqat_mini.main(["--model", "mini-pixart-tiny", "--random-init", "--steps-per-epoch", "1", "--batch", "2",
                             "--kd-per-digit", "1", "--kd-steps", "2", "--calibration-samples", "4",
                             "--samples-per-class", "1", "--sample-steps", "2", "--quiet", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for row in ("full precision", "post-training W4A8", "fractional (FraQAT)", "integer 8,7,6,5,4", "direct W4"):
        assert row in text
    import json

    rows = json.loads(out.read_text())
    assert [r["steps"] for r in rows[2:]] == [25, 25, 25]  # equal budget
