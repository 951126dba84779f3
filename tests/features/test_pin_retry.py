"""A refused pin: the wishlist message is posted anyway, the admins are told which permission
to grant, and the pin is tried again on the job's next run."""

from __future__ import annotations

import trio

from familybot_trio.sandbox.world import CHANNELS

WL, ADMIN = CHANNELS["wishlist"], CHANNELS["admin_reports"]


async def run_unpinned(world) -> tuple[list, list[str]]:
    """Run the wishlist job; its messages are posted and not pinned. Returns (the wishlist
    messages, the admin channel's contents)."""
    outcome = await world.app.scheduler.run_now("wishlist")
    assert outcome.ok, outcome.error
    posted = world.discord.messages(WL)
    assert posted and not any(m.pinned for m in posted)
    return posted, [m.content for m in world.discord.messages(ADMIN)]


async def test_refused_pin_posts_tells_admins_and_pins_on_the_next_run(start_world) -> None:
    world = await start_world(features=["wishlist"])
    world.discord.fail_next("PUT", f"/channels/{WL}/messages/pins/", 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    with trio.fail_after(60):
        posted, notices = await run_unpinned(world)
        assert len(notices) == 1 and "Pin Messages" in notices[0] and "#wishlist" in notices[0]

        outcome = await world.app.scheduler.run_now("wishlist")  # still refused: told once
        assert outcome.ok and len(world.discord.messages(ADMIN)) == 1

        world.discord.rest.clear_faults()  # the permission was granted
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error
        assert [m.id for m in world.discord.messages(WL)] == [m.id for m in posted]
        assert all(m.pinned for m in world.discord.messages(WL))
        assert "work again" in world.discord.messages(ADMIN)[-1].content


async def test_a_pin_over_the_channels_pin_limit_tells_admins_to_unpin(start_world) -> None:
    """400 30003 (the channel holds Discord's maximum of pins): posted unpinned, the admins
    told once what to do, and the pin tried again once there is room."""
    world = await start_world(features=["wishlist"])
    world.discord.rest.pin_limit = 0
    with trio.fail_after(60):
        posted, notices = await run_unpinned(world)
        assert len(notices) == 1, notices
        assert "maximum of pinned messages" in notices[0] and "unpin" in notices[0]
        assert "#wishlist" in notices[0]
        assert (await world.app.scheduler.run_now("wishlist")).ok
        assert len(world.discord.messages(ADMIN)) == 1  # told once
        world.discord.rest.pin_limit = 50  # an admin unpinned old messages
        assert (await world.app.scheduler.run_now("wishlist")).ok
        assert all(m.pinned for m in world.discord.messages(WL))
        assert "work again" in world.discord.messages(ADMIN)[-1].content


async def test_a_pin_limit_after_a_permission_refusal_is_told_too(start_world) -> None:
    """403 (told: grant Pin Messages), then the permission granted but the channel full of
    pins (30003): that is a new cause, and the admins hear of it too."""
    world = await start_world(features=["wishlist"])
    world.discord.fail_next("PUT", f"/channels/{WL}/messages/pins/", 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    with trio.fail_after(60):
        _, notices = await run_unpinned(world)
        assert len(notices) == 1 and "Pin Messages" in notices[0]
        world.discord.rest.clear_faults()
        world.discord.rest.pin_limit = 0
        assert (await world.app.scheduler.run_now("wishlist")).ok
    notices = [m.content for m in world.discord.messages(ADMIN)]
    assert any("maximum of pinned messages" in n for n in notices), notices
