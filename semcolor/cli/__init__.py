"""Command-line entry points: each parses arguments and calls library functions.

The top room of the house (README, "Layout"): it may import any room, and does so after
parsing (``# lazy: start-up cost``), so that the tools answer ``--help`` in about 0.05 s
without torch rather than in seconds with it (``train``: 0.6 s, Hydra's own help; README,
"Layout"; ``benchmarks/bench_startup.py``).
"""
