"""`familybot-trio demo`: the README's main job tells its whole story and exits 0."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from familybot_trio import blocking, demo, offloop

#: The whole `demo --serve` subprocess: start, story, signal, stop (s).
DEMO_SUBPROCESS_TIMEOUT_S = 180


async def test_demo_plays_every_chapter_and_posts_what_each_promises(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await demo.run_demo(out, tmp_path) == 0
    text = out.getvalue()
    counts = {title.split(".")[0]: n for title, n in _chapters(text)}
    assert counts["1"] == 0                     # baseline: nothing announced
    assert counts["2"] == 1                     # one purchase, one announcement
    assert counts["3"] == 1                     # a 12-game bundle is one grouped message
    assert counts["4"] >= 2                     # the wishlist message and a deal alert
    assert counts["5"] >= 1                     # Epic's giveaway
    assert counts["6"] >= 4                     # /coop, /deals, /common_games, /help answered
    assert counts["7"] == 3                     # two /owned cards and /stats
    assert counts["8"] == 1                     # one digest: a removal and an extra copy
    assert "Yes, the family already owns it." in text and "Shareable games" in text
    assert "Family library changes" in text and "bought it too (2 copies now)" in text
    assert "Owner: " in text and demo.NEW_GAME[1] in text
    assert "12 new games in the family library" in text
    assert "(pinned)" in text                   # the wishlist message is pinned
    assert "Deliver Us Mars" in text            # the recorded Epic giveaway
    assert "familybot commands" in text         # /help
    # no --serve: the bot stops at the end, so no sign-in link (it would be dead on arrival)
    assert "sign-in link for the admin (10 minutes" not in text and "/auth/link" not in text
    assert "run `familybot-trio demo --serve` to keep the bot and its web dashboard up" in text


def _chapters(text: str) -> list[tuple[str, int]]:
    summary = text.split("== Summary:", 1)[1].splitlines()[1:]
    rows = []
    for line in summary:
        n, _, title = line.strip().partition("  ")
        rows.append((title.strip(), int(n)))
    return rows


#: Discord markup a terminal would show raw (the demo must render every one of them).
RAW_MARKUP = re.compile(r"<t:-?\d+(:[tTdDfFR])?>|\]\(<?https?://|<https?://|\*\*|__|~~|\|\|"
                        r"|<@!?&?\d+>|<#\d+>|<a?:\w+:\d+>|\\[*_~`|\[\]<>#@]|^\s*│ ▌ #{1,3} ",
                        re.M)


async def test_demo_output_has_no_raw_markup_and_replies_follow_their_command(
        tmp_path: Path) -> None:
    out = io.StringIO()
    assert await demo.run_demo(out, tmp_path) == 0
    text = out.getvalue()
    lines = text.splitlines()
    raw = [line for line in lines if RAW_MARKUP.search(line)]
    assert raw == []  # the lines themselves: seen once under a 4-worker load, not yet explained
    for command in ("/coop copies:2", "/deals", "/help"):
        typed = next(i for i, line in enumerate(lines) if line.strip().startswith("> ")
                     and command in line)
        assert "↳ reply to" in lines[typed + 1] and command in lines[typed + 1]
    # a link reads as its text with the URL after it
    assert re.search(r"Lanternfall|Bundle Game 1 \(https://store\.steampowered\.com/app/\d+/\)",
                     text)


def test_keep_refuses_a_file_a_used_or_non_empty_folder_and_one_it_cannot_make(
        tmp_path: Path, capsys: "pytest.CaptureFixture[str]") -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert demo.main(["--keep", str(afile)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err
    used = tmp_path / "used"
    (used / "data").mkdir(parents=True)
    (used / "config.toml").write_text("")
    assert demo.main(["--keep", str(used)]) == 2
    assert "already holds a demo" in capsys.readouterr().err
    assert demo.keep_dir_problem(tmp_path / "new") is None
    (tmp_path / "empty").mkdir()
    assert demo.keep_dir_problem(tmp_path / "empty") is None
    assert demo.main(["--keep", str(tmp_path)]) == 2  # holds afile and used/: not empty
    assert "not empty" in capsys.readouterr().err
    assert demo.main(["--keep", str(afile / "sub")]) == 2  # under a file: cannot be made
    err = capsys.readouterr().err
    assert "cannot make that folder" in err and "Traceback" not in err


async def test_each_commands_replies_are_drawn_together_under_it_numbered_alike(
        tmp_path: Path) -> None:
    out = io.StringIO()
    assert await demo.run_demo(out, tmp_path) == 0
    lines = out.getvalue().splitlines()
    typed: str | None = None  # the command typed last ("TestUserTwo's /coop copies:2")
    parts: dict[str, int] = {}
    for line in lines:
        if line.strip().startswith("> ") and " types /" in line:
            who, _, command = line.strip()[2:].partition(" types ")
            typed = f"{who}'s {command}"
        elif line.startswith("=="):
            typed = None  # a new chapter: no command is being answered
        elif "↳ reply to " in line:
            replied = line.split("↳ reply to ", 1)[1].split("  (", 1)[0].strip()
            assert replied == typed, f"a reply to {replied} drawn after {typed}"
            parts[replied] = parts.get(replied, 0) + 1
    coop = next(k for k in parts if k.endswith("/coop copies:2"))
    deals = next(k for k in parts if k.endswith("/deals"))
    assert parts[coop] >= 2 and parts[deals] >= 2  # multi-part answers, every part under it
    text = "\n".join(lines)
    assert "Play together: games with 2+ copies (2/" in text  # the /coop part has a header
    # one numbering style, "(2/3)", in channels and replies alike
    assert re.findall(r"^\s*│ ▌ .*\S \(\d+\)$", text, re.M) == []
    assert re.search(r"deals on the family's wishlists \(2/\d+\)", text)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_serve_stops_on_ctrl_c_or_sigterm_says_so_and_removes_its_folder(
        tmp_path: Path, signum: signal.Signals) -> None:
    """`demo --serve` as a real subprocess: once it says it stays up, Ctrl-C (trio wraps the
    KeyboardInterrupt in exception groups) or SIGTERM (docker stop) stops it with "demo
    stopped", exit 130 and no traceback, and its /tmp/familybot-demo-* folder is gone."""
    tmpdir = tmp_path / "tmp"
    await trio.Path(tmpdir).mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONUNBUFFERED": "1"}
    env.pop(offloop.ENV_DEBUG_BLOCKING, None)
    lines: list[str] = []
    with trio.fail_after(DEMO_SUBPROCESS_TIMEOUT_S):
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "familybot_trio", "demo", "--serve"], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert proc.stdout is not None
            buf = b""
            async for chunk in proc.stdout:
                buf += chunk
                *done, buf = buf.split(b"\n")
                lines.extend(d.decode(errors="replace") for d in done)
                if any("stay up until Ctrl-C" in ln for ln in lines):
                    break
            made = await blocking.run_sync("files", lambda: [p.name for p in tmpdir.iterdir()])
            assert len(made) == 1 and made[0].startswith("familybot-demo-"), (made, lines[-20:])
            proc.send_signal(signum)
            async for chunk in proc.stdout:
                buf += chunk
            lines.extend(buf.decode(errors="replace").splitlines())
            code = await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    tail = "\n".join(lines[-40:])
    assert code == 130, (code, tail)
    assert lines[-1] == "demo stopped", tail
    assert "Traceback" not in tail and "ExceptionGroup" not in tail, tail
    left = await blocking.run_sync("files", lambda: list(tmpdir.iterdir()))
    assert left == [], tail   # the demo's temporary folder was removed
