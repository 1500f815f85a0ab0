"""``semcolor-app``: serve the local web app (``pip install "semcolor[app]"``).

    semcolor-app                      # http://127.0.0.1:7860, the default model
    semcolor-app --port 8080 --ckpt outputs/run/checkpoints/last.ckpt

Exit status: 0 stopped; 2 bad arguments, model, or Gradio missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor.cli._help import parser as help_parser

PROG = "semcolor-app"


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        PROG,
        "Serve semcolor's web app on this machine: drop images, colorize, compare before and "
        "after, download at full resolution, see the scene, segmentation and uncertainty.",
        "No analytics, telemetry or share links; works with no network.",
    )
    ap.add_argument("--port", type=int, default=7860, help="port to listen on")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (0.0.0.0 serves the local network)")  # fmt: skip
    ap.add_argument("--ckpt", type=Path, default=None,
                    help="checkpoint shown at start (default: the packaged model)")  # fmt: skip
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 < args.port < 65536:
        print(f"{PROG}: error: --port must lie in 1..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
        import gradio  # noqa: F401
    except ImportError:
        print(f'{PROG}: error: the app needs Gradio: pip install "semcolor[app]"', file=sys.stderr)
        return 2
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.app import launch

    try:
        launch(None if args.ckpt is None else str(args.ckpt), args.port, args.host, args.device)
    except (FileNotFoundError, ValueError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
