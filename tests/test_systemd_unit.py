"""contrib/familybot-trio.service against the exit codes `familybot-trio run` uses and the
README's table of what each one means to the unit (issue 12: review the restart policy
against every exit path)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from familybot_trio.cli._main import EXIT_FAILED, EXIT_USAGE
from familybot_trio.cli._run import EXIT_AT_ONCE, EXIT_INTERRUPTED, EXIT_NEEDS_OPERATOR

ROOT = Path(__file__).resolve().parents[1]


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    unit.read_string((ROOT / "contrib" / "familybot-trio.service").read_text())
    return unit


def _readme_exit_rows() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("What each exit code of `familybot-trio run` means to the unit"):]
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \|[^|]*\| ([^|]*) \|$", table[:2000],
                                                 re.M)}


def test_the_unit_restarts_crashes_forever_and_never_config_or_operator_exits() -> None:
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert {int(c) for c in service["RestartPreventExitStatus"].split()} == {
        EXIT_USAGE, EXIT_NEEDS_OPERATOR}
    assert EXIT_FAILED not in {int(c) for c in service["RestartPreventExitStatus"].split()}
    assert _unit()["Unit"]["StartLimitIntervalSec"] == "0"  # a crash loop never gives up
    assert service["KillSignal"] == "SIGTERM"


def test_readme_says_what_every_exit_code_means_to_the_unit() -> None:
    rows = _readme_exit_rows()
    assert set(rows) == {0, EXIT_FAILED, EXIT_USAGE, EXIT_NEEDS_OPERATOR, EXIT_INTERRUPTED,
                         EXIT_AT_ONCE}
    prevented = {int(c) for c in _unit()["Service"]["RestartPreventExitStatus"].split()}
    for code in prevented:
        assert rows[code].startswith("not restarted"), (code, rows[code])
    assert rows[EXIT_FAILED].startswith("restarted"), rows[EXIT_FAILED]
