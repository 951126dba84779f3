"""`python -m bench.soak`'s command line (bench/soak/__main__.py): a wrong --days is a usage
error (exit 2) before any soak runs."""

from __future__ import annotations

import pytest

from bench.soak.__main__ import main


@pytest.mark.parametrize("days", ["0", "-1", "-0.5", "nan", "inf", "-inf", "two", "1_0",
                                  "1e-9", "1e10", "0.01", "367"])
def test_days_must_be_a_plain_number_from_an_hour_to_a_year(days, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([f"--days={days}", "--out", str(tmp_path / "s.json"), "--no-tracemalloc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--days" in err and "plain number from 1/24 (an hour) to 366" in err, err
    assert "--days 2 is the suite's run, 30 the bench's" in err, err
    assert not (tmp_path / "s.json").exists()  # no soak ran


@pytest.mark.parametrize("text, days", [("0.5", 0.5), ("2", 2.0), ("30", 30.0), (".25", 0.25),
                                        ("366", 366.0)])
def test_plain_day_counts_are_taken(text, days) -> None:
    from bench.soak.__main__ import _days

    assert _days(text) == days
