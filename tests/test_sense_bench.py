"""Smoke runs of the sense benchmarks: tagging many usages (synthetic) and CoarseWSD-20 through the inventory (real model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_benchmarks import SHARED, run_benchmark


def test_bench_sense_tagging_smoke() -> None:
    result = run_benchmark("bench_sense_tagging.py", "--usages", "3000", "--documents", "6")
    assert result["usages"] == 3000 and result["accuracy"] >= 95.0 and result["cached_equal"] is True
    assert {"tag_cold", "tag_warm", "tag_cached_new_reader", "classify_centroid", "classify_knn5"} <= set(
        result["seconds"])
    assert result["river_documents"] == 6 and result["river_hits"] == 100


@pytest.mark.slow
def test_coarsewsd_dev_accuracy_through_the_inventory_equals_eval(tmp_path: Path) -> None:
    if not (SHARED / "data" / "coarsewsd20").is_dir():
        pytest.skip("../shared/data/coarsewsd20 is not here")
    split = subprocess.run([sys.executable, str(SHARED / "tools" / "split_coarsewsd.py"), str(tmp_path / "cwsd")],
                           capture_output=True, text=True, check=False)
    assert split.returncode == 0, split.stderr
    result = run_benchmark("inventory_coarsewsd.py", "--data", str(tmp_path / "cwsd"), "--words", "crane",
                           "--train", "12", "--test", "6")
    assert result["equal"] is True, result
    assert result["eval_flat"]["crane"] == result["inventory_flat"]["crane"] >= 50.0
    assert result["threshold_curve_sq8"]["0.0"]["coverage"] == 100.0
