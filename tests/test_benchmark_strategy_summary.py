"""``benchmarks/strategy_summary.py``: mean and spread over seeds, and what the spread allows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import strategy_summary  # noqa: E402


def result(
    name: str, seed: int, normal: float, wall: float, collapsed: bool = False, warnings: int = 0
) -> dict:
    return {
        "collapse_warnings": warnings,
        "name": name,
        "seed": seed,
        "mse": {"normal": normal, "wall": wall},
        "collapsed": collapsed,
        "embedding": {"std": 0.3, "effective_rank": 100.0 + seed, "spectrum": [0.5, 0.3, 0.2]},
        "steps": 1000,
        "stopped_step": 800 + 100 * seed,
        "train_seconds": 600.0 + 60 * seed,
    }


def write(folder: Path, *results: dict) -> Path:
    for r in results:
        (folder / r["name"]).mkdir(parents=True)
        (folder / r["name"] / "result.json").write_text(json.dumps(r))
    return folder


@pytest.fixture
def two_seeds(tmp_path: Path) -> list[Path]:
    return [
        write(
            tmp_path / "seed0",
            result("sigreg+id", 0, normal=0.50, wall=1.0),
            result("variance+id", 0, normal=0.70, wall=1.05),
            result("vicreg", 0, normal=3.0, wall=4.0, collapsed=True),
        ),
        write(
            tmp_path / "seed1",
            result("sigreg+id", 1, normal=0.60, wall=1.2),
            result("variance+id", 1, normal=0.80, wall=0.9, warnings=2),
        ),
    ]


def test_mean_and_half_range_over_the_seeds(two_seeds: list[Path]) -> None:
    rows = strategy_summary.summarise(strategy_summary.load_results(two_seeds))
    by_name = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["vicreg", "variance+id", "sigreg+id"]  # STRATEGIES order
    mean, half, low, high = by_name["sigreg+id"]["mse"]["normal"]
    assert (mean, half, low, high) == pytest.approx((0.55, 0.05, 0.50, 0.60))
    assert by_name["sigreg+id"]["seeds"] == [0, 1] and by_name["vicreg"]["seeds"] == [0]
    assert by_name["vicreg"]["collapsed"] == 1
    text = strategy_summary.table(rows)
    assert "| sigreg+id | 0,1 | 0.550 ± 0.050 | 1.100 ± 0.100 | - | - | 0/2 |" in text
    assert "| vicreg | 0 | 3.000 | 4.000 | - | - | 1/1 |" in text
    assert "| 0/2 (warned 1) |" in text  # variance+id: seed 1 warned during training, recovered
    assert "850 ± 50" in text and "10.5 ± 0.5" in text  # stopped step, training minutes


def test_only_ranges_that_do_not_overlap_tell_two_variants_apart(two_seeds: list[Path]) -> None:
    rows = strategy_summary.summarise(strategy_summary.load_results(two_seeds))
    found = strategy_summary.separations(rows)
    assert set(found) == {"normal", "wall"}
    normal = found["normal"]
    assert normal[0] == "best by mean: sigreg+id (0.550)"
    assert "variance+id (0.750): worse, beyond the seed spread" in normal  # [0.7,0.8] vs [0.5,0.6]
    assert "vicreg (3.000): not tested (fewer than two seeds)" in normal
    wall = found["wall"]
    assert wall[0] == "best by mean: variance+id (0.975)"
    assert "sigreg+id (1.100): within the seed spread" in wall  # [1.0,1.2] overlaps [0.9,1.05]


def test_a_one_seed_best_does_not_hide_the_tested_comparisons(two_seeds: list[Path]) -> None:
    rows = strategy_summary.summarise(strategy_summary.load_results(two_seeds))
    vicreg = next(r for r in rows if r["name"] == "vicreg")
    vicreg["mse"]["normal"] = (0.1, 0.0, 0.1, 0.1)  # one seed, the best mean
    normal = strategy_summary.separations(rows)["normal"]
    assert normal[:2] == [
        "best by mean: vicreg (0.100)",
        "best with two seeds or more: sigreg+id (0.550)",
    ]
    assert "variance+id (0.750): worse, beyond the seed spread" in normal
    assert "vicreg (0.100): not tested (fewer than two seeds)" in normal


def test_the_figures_and_the_command_line(two_seeds: list[Path], tmp_path: Path, capsys) -> None:
    prefix = tmp_path / "figs" / "cmp"
    assert strategy_summary.main([*map(str, two_seeds), "--png", str(prefix)]) == 0
    for part in ("mse", "curves", "spectra"):
        assert Path(f"{prefix}_{part}.png").stat().st_size > 10_000
    assert "Differences larger than the seed spread" in capsys.readouterr().out


def test_existing_figures_are_kept_unless_overwrite(
    two_seeds: list[Path], tmp_path: Path, capsys
) -> None:
    prefix = tmp_path / "cmp"
    other = Path(f"{prefix}_curves.png")
    other.write_bytes(b"a figure of something else")
    with pytest.raises(SystemExit):
        strategy_summary.main([*map(str, two_seeds), "--png", str(prefix)])
    err = capsys.readouterr().err
    assert str(other) in err and "--overwrite" in err
    assert other.read_bytes() == b"a figure of something else"
    assert not Path(f"{prefix}_mse.png").exists()
    assert strategy_summary.main([*map(str, two_seeds), "--png", str(prefix), "--overwrite"]) == 0
    assert other.stat().st_size > 10_000


def test_bad_folders_are_named(tmp_path: Path, two_seeds: list[Path], capsys) -> None:
    with pytest.raises(SystemExit):
        strategy_summary.main([str(tmp_path / "missing")])
    assert "missing: no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        strategy_summary.main([str(two_seeds[0]), str(two_seeds[0])])
    assert "seed 0 of" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        strategy_summary.main([str(tmp_path / "empty")])
    assert "no finished variant" in capsys.readouterr().err


def test_records_keep_the_curves_and_read_back_like_runs(
    two_seeds: list[Path], tmp_path: Path, capsys
) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(two_seeds[0] / "sigreg+id" / "run"))
    for step, loss in ((1000, 2.0), (2000, 1.5), (2000, 1.25)):  # a resumed run redid step 2000
        writer.add_scalar("val/loss", loss, step)
    writer.close()
    records = tmp_path / "records"
    assert strategy_summary.main([*map(str, two_seeds), "--records", str(records)]) == 0
    first = capsys.readouterr().out
    kept = json.loads((records / "seed0" / "sigreg+id" / "result.json").read_text())
    assert kept["curves"]["val/loss"] == [[1000, 2.0], [2000, 1.25]]
    assert kept["curves"]["val/embedding_std"] == []
    assert "folder" not in kept
    assert len(list(records.glob("seed*/*/result.json"))) == 5

    # The run folders gone, the records give the same table and the same curves.
    again = strategy_summary.load_results([records / "seed0", records / "seed1"])
    assert strategy_summary.run_curves(again["sigreg+id"][0])["val/loss"] == [
        [1000, 2.0],
        [2000, 1.25],
    ]
    assert strategy_summary.main([str(records / "seed0"), str(records / "seed1")]) == 0
    table_lines = [line for line in first.splitlines() if line.startswith("|")]
    assert table_lines == [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("|")
    ]

    # The same records again: nothing to write; a record that differs is kept unless --overwrite.
    assert strategy_summary.main([*map(str, two_seeds), "--records", str(records)]) == 0
    assert "wrote 0 record(s)" in capsys.readouterr().out
    changed = records / "seed1" / "variance+id" / "result.json"
    changed.write_text("{}")
    with pytest.raises(SystemExit):
        strategy_summary.main([*map(str, two_seeds), "--records", str(records)])
    assert str(changed) in capsys.readouterr().err and changed.read_text() == "{}"
    args = [*map(str, two_seeds), "--records", str(records), "--overwrite"]
    assert strategy_summary.main(args) == 0
    assert json.loads(changed.read_text())["seed"] == 1


def test_what_inverse_dynamics_changes_per_strategy(tmp_path: Path, capsys) -> None:
    folders = [
        write(
            tmp_path / "seed0",
            result("variance", 0, normal=0.50, wall=1.0),
            result("variance+id", 0, normal=0.20, wall=0.9),
            result("sigreg+id", 0, normal=0.3, wall=0.4),
        ),
        write(
            tmp_path / "seed1",
            result("variance", 1, normal=0.60, wall=1.1),
            result("variance+id", 1, normal=0.30, wall=1.05),
        ),
    ]
    rows = strategy_summary.summarise(strategy_summary.load_results(folders))
    effects = strategy_summary.id_effects(rows)
    assert set(effects) == {"variance"}  # sigreg has no row without ID
    assert effects["variance"] == [
        "normal 0.550 without, 0.250 with (2.2x): ID better, beyond the seed spread",
        "wall 1.050 without, 0.975 with (1.1x): within the seed spread",  # [1.0,1.1] vs [0.9,1.05]
    ]
    rows[0]["seeds"] = [0]  # one seed of the row without ID: nothing is claimed
    assert strategy_summary.id_effects(rows)["variance"][0].endswith(
        "not tested (fewer than two seeds)"
    )
    assert strategy_summary.main([str(f) for f in folders]) == 0
    assert "Inverse dynamics, without against with" in capsys.readouterr().out
