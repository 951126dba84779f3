"""familybot-trio: a self-hosted Discord bot for a Steam Family.

Layout (see README.md and the module docstrings):
- blocking: THE concurrency policy (named CapacityLimiters, the one thread helper)
- loopblock: the loop-block detector (a trio Instrument)
- errors: the exception tree
- config, store/, upstream/, sandbox/, features/, schedule, app, cli/
"""

__version__ = "0.1.0"

__all__: list[str] = []  # a namespace of subpackages and modules; import those
