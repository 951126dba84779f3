"""The soak's free-game part (bench/soak/_free.py): its plan and its ground truth."""

from __future__ import annotations

from types import SimpleNamespace

from bench.soak import _free
from bench.soak._plan import make_plan
from bench.soak._truth import compare
from familybot_trio.sandbox._mutations import Change
from familybot_trio.sandbox.world import CHANNELS


def test_the_plan_gives_a_game_away_on_both_sources_first_and_keeps_other_schedules() -> None:
    events = _free.plan(2 * 86_400, 4)
    assert events == _free.plan(2 * 86_400, 4)  # the seed names the schedule
    starts = [args[:3] for _, kind, args in events if kind == "free_start"]
    assert starts[:2] == [("epic", 0, "both"), ("reddit", 0, "both")]
    assert all(at < 2 * 86_400 for at, _, _ in events)
    full = make_plan(2, 4, members=5, wishers=4)
    without = [e for e in full.events if e.kind not in _free.KINDS]
    assert len(without) == len(full.events) - len(events)  # its own RNG: nothing else moved


def _msg(url: str) -> SimpleNamespace:
    return SimpleNamespace(embeds=({"title": "Free: x", "url": url},), content=None)


def test_truth_expects_each_game_once_and_a_recorded_offer_at_most_once() -> None:
    epic, steam = _free.page("both", 0), _free.page("steam", 1)
    log = [Change(1.0, "free_start", 0, key=epic, source="epic"),
           Change(2.0, "free_start", 0, key=epic, source="reddit"),
           Change(3.0, "free_start", 0, key=steam, source="reddit")]
    posts = [_msg(epic), _msg("https://store.epicgames.com/p/deliver-us-mars"),
             _msg("https://store.epicgames.com/p/deliver-us-mars"), _msg(epic)]
    channels = {CHANNELS["free_games"]: posts}
    discord = SimpleNamespace(messages=lambda channel: channels.get(channel, []))
    got = _free.truth(SimpleNamespace(change_log=log), discord, compare)
    assert (got["expected"], got["lost"], got["duplicated"]) == (2, 1, 2)
    assert got["lost_appids"] == [steam] and got["duplicated_appids"] == [epic]
    assert got["recorded_posted"] == 1
    assert got["recorded_duplicated_urls"] == ["https://store.epicgames.com/p/deliver-us-mars"]
    assert got["by_source"] == {"epic": 1, "reddit": 2}
