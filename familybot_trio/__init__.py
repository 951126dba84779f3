"""familybot-trio: a self-hosted Discord bot for a Steam Family.

Layout (README.md "Layout" has one line per folder; each module says what it knows):
- blocking: THE concurrency policy (named CapacityLimiters, the one thread helper)
- loopblock: the loop-block detector (a trio Instrument)
- errors: the exception tree; ids: AppId and SteamID64
- app (the root nursery), schedule, outbox, outbox_sender, signin, demo
- config/, store/, upstream/, features/, sandbox/, web/, console/, cli/
"""

__version__ = "0.1.0"

__all__: list[str] = []  # a namespace of subpackages and modules; import those
