"""Command-line entry points: each parses arguments and calls library functions.

The top room of the house (README, "Layout"): it may import any room, and does so after
parsing (``# lazy: start-up cost``), so that ``semcolor-<tool> --help`` answers in about 0.1 s
without torch rather than in seconds with it (``benchmarks/bench_startup.py``).
"""
