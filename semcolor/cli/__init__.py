"""Command-line entry points: each parses arguments and calls library functions."""
