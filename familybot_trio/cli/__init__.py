"""The operator's command line: `familybot-trio <command>` (also `python -m familybot_trio`).

    run        the bot (SIGINT/SIGTERM stop it cleanly; a second signal exits at once)
    check      validate the config, then try every credential and channel
    populate   warm library, owned games, wishlists, details and prices (resumable)
    db         backup PATH | restore PATH | check
    purge      details | prices | all (cached store data)
    token      set (reads standard input) | status
    outbox     list | retry [ID...] | drop ID... (announcements waiting or refused)
    accept     library | wishlist | owned [--member STEAMID64|NAME] (store the next answer)
    console    attach to the running bot's debug console
    demo       the bot against FakeDiscord + sandbox; no keys, no network

Exit codes: 0 ok; 1 a command failed (the message says why); 2 the config or the command
line is wrong ("config error: ..." lists every problem); 3 `run` stopped on something only
the operator can fix (refused bot token, fatal gateway close code); 130 interrupted.

Each command runs its own `trio.run`; blocking work inside it goes through
`familybot_trio.blocking`. Work done before or after `trio.run` (reading standard input,
`db restore`) is plain sync code: there is no event loop to block there.

Layout: `_main` holds the argparse tree and the dispatch; one private module per
command group holds its bodies (`_run`, `_check`, `_populate`, `_db` (db and purge),
`_token`, `_steam`), and `_clients` opens the upstream clients they share. The group
modules are imported on dispatch, so `--help` and config errors need no app import.
"""

from familybot_trio.cli._main import build_parser, main, read_token

__all__ = ["build_parser", "main", "read_token"]
