"""One help style for every semcolor command: each option says its default."""

from __future__ import annotations

import argparse
import textwrap


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and appends ``(default: X)`` to an option's help
    unless the help already explains its default, the option is a flag, or it is required.
    (argparse's ArgumentDefaultsHelpFormatter would also print "default: None", which says
    nothing; the options whose default is None explain it in their own help.)"""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_ = action.help or ""
        if (
            "default" in help_.lower()
            or action.default in (None, False, argparse.SUPPRESS)
            or action.required
            or not action.option_strings
        ):
            return help_
        return f"{help_} (default: %(default)s)"


def _fill(text: str | None) -> str | None:
    """Wrap prose paragraphs to 79 columns; keep indented (example) paragraphs as written."""
    if text is None:
        return None
    paras = text.strip("\n").split("\n\n")
    return "\n\n".join(
        p
        if any(line.startswith(" ") for line in p.splitlines())
        else textwrap.fill(" ".join(p.split()), 79)
        for p in paras
    )


def parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """An ArgumentParser in semcolor's help style."""
    return argparse.ArgumentParser(
        prog=prog, description=_fill(description), epilog=_fill(epilog),
        formatter_class=HelpFormatter,
    )  # fmt: skip
