"""Benchmarks of familybot-trio against a naive on-loop baseline: `python -m bench`.

Not part of the package (nothing in familybot_trio or gateway imports this) and not tests:
see bench/README.md for each figure, how it is measured and the last committed results.
"""
