"""The soak's upstream garbage plan (bench/soak/_garbage.py): its own random stream, within
the fault window, only faults the sandbox knows, and the other parts' events unmoved."""

from __future__ import annotations

from bench.soak import _garbage
from bench.soak._plan import DAY_S, make_plan
from familybot_trio.sandbox._knobs import Fault


def test_the_plan_is_seeded_inside_the_fault_window_and_known_to_the_sandbox() -> None:
    end = 29 * DAY_S
    events = _garbage.plan(end, 3)
    assert events == _garbage.plan(end, 3) and events != _garbage.plan(end, 4)
    assert len(events) >= 40 and all(0 < at < end for at, _, _ in events)
    for _, kind, (upstream, fault, n) in events:
        assert kind == _garbage.KIND and fault in _garbage.FAULTS[upstream] and 1 <= n <= 3
        Fault(fault)  # a fault the sandbox can answer
    assert {u for _, _, (u, _, _) in events} == set(_garbage.FAULTS)


def test_the_other_events_stay_where_they_were(monkeypatch) -> None:
    with_garbage = make_plan(30, 2, members=6, wishers=4).events
    monkeypatch.setattr(_garbage, "plan", lambda end_s, seed: [])
    without = make_plan(30, 2, members=6, wishers=4).events
    assert [e for e in with_garbage if e.kind != _garbage.KIND] == without
