"""`python -m bench.soak`'s command line (bench/soak/__main__.py): a wrong --days is a usage
error (exit 2) before any soak runs."""

from __future__ import annotations

import pytest

from bench.soak.__main__ import main


@pytest.mark.parametrize("days", ["0", "-1", "-0.5", "nan", "inf", "-inf", "two"])
def test_days_must_be_a_finite_number_above_zero(days, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([f"--days={days}", "--out", str(tmp_path / "s.json"), "--no-tracemalloc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--days" in err and "finite number > 0" in err, err
    assert "--days 2 is the suite's run, 30 the bench's" in err, err
    assert not (tmp_path / "s.json").exists()  # no soak ran
