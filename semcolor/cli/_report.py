"""What the folder-converting commands (semcolor-shard, semcolor-pack) print about the source
files they had to leave out, and the exit status that follows (1: some left out, 0: none)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def report_skipped(prog: str, skipped: Sequence[tuple[str, str]], heading: str) -> int:
    """Print ``prog: <heading>`` and one ``path<TAB>reason`` line per skipped file to stderr.

    Args:
        prog: the command's name.
        skipped: (path, reason) of each file left out.
        heading: e.g. "skipped 3 unreadable file(s):".

    Returns:
        1 when something was skipped, else 0 (nothing printed).
    """
    if not skipped:
        return 0
    print(f"{prog}: {heading}", file=sys.stderr)
    for path, reason in skipped:
        print(f"  {path}\t{reason}", file=sys.stderr)
    return 1
