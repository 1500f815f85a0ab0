"""``semcolor-export``: export the inference network to ONNX.

    semcolor-export --onnx semcolor.onnx [--ckpt last.ckpt] [--size 256] [--temperature T]
                    [--outputs dist reg]

The graph takes normalised L ``(L - 50) / 100`` of shape (B,1,S,S) (B dynamic) and returns
``ab_dist`` (annealed mean, upsampled to S) and/or ``ab_reg``, (B,2,S,S) ab in Lab units; see
:mod:`semcolor.inference.export`. ``--outputs dist`` (or ``reg``) exports that output only, and the
graph then computes only the head it reads (default: every output the model has). When
onnxruntime is installed the file is checked against PyTorch (max abs difference on ab)
unless ``--no-check``. Export needs the ``onnx`` package (``pip install "semcolor[onnx]"``,
which also installs onnxruntime); without it the command says so in one line and exits 2.

Exit status: 0 written (and checked); 1 the check failed; 2 bad arguments, model, or the
onnx package missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from semcolor.cli._help import parser as help_parser

#: Values of ``--outputs`` (the keys of :data:`semcolor.inference.export.OUTPUT_NAMES`; spelled
#: out so that ``--help`` does not import torch).
EXPORT_OUTPUTS: tuple[str, ...] = ("dist", "reg")
#: Largest max-abs ab difference (Lab units) accepted between ONNX Runtime and PyTorch.
CHECK_TOLERANCE = 1e-3


def check_onnx(model, path: Path, size: int, temperature: float) -> dict[str, float] | None:
    """Max abs ab difference between ONNX Runtime and ``predict_ab`` per output, on a random
    batch of 2; None when onnxruntime is not installed."""
    try:
        # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
        import onnxruntime as ort
    except ImportError:
        return None
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import torch

    from semcolor.color import normalize_l
    from semcolor.inference.predict import predict_ab

    net = model.net.cpu() if hasattr(model, "net") else model
    gen = torch.Generator().manual_seed(0)
    L = torch.rand(2, 1, size, size, generator=gen) * 100
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"L": normalize_l(L).numpy()}), strict=True))
    methods = tuple(n.removeprefix("ab_") for n in names)
    ref = predict_ab(net, L, size=None, methods=methods, temperature=temperature)
    return {
        n: float((torch.from_numpy(got[n]) - ref[n.removeprefix("ab_")]).abs().max()) for n in names
    }


def _parser() -> argparse.ArgumentParser:
    ap = help_parser("semcolor-export", "Export the semcolor inference network to ONNX.")
    ap.add_argument("--onnx", type=Path, required=True, metavar="FILE",
                    help="output .onnx (required)")  # fmt: skip
    ap.add_argument(
        "--ckpt", type=Path, default=None, help="checkpoint (default: the packaged model)"
    )
    ap.add_argument("--size", type=int, default=256, help="input side S")
    ap.add_argument(
        "--temperature", type=float, default=None,
        help="annealed-mean T baked in (default: the model's own, calibrated)"
    )
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17)")
    ap.add_argument(
        "--outputs", nargs="+", choices=list(EXPORT_OUTPUTS), default=None, metavar="METHOD",
        help="outputs to export, from {dist, reg}: ab_dist and/or ab_reg; the graph runs only "
        "the heads they read (default: every one the model has)",
    )  # fmt: skip
    ap.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime check")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.checkpoint import load_model
    from semcolor.inference.export import export_onnx, require_onnx

    try:
        require_onnx()  # before loading anything: a one-line fix, not a traceback at the end
    except ImportError as e:
        print(f"semcolor-export: error: {e}", file=sys.stderr)
        return 2
    try:
        model = load_model(args.ckpt, device="cpu")
    except (FileNotFoundError, ValueError) as e:
        hint = "; pass a checkpoint with --ckpt FILE" if args.ckpt is None else ""
        print(f"semcolor-export: error: cannot load the model: {e}{hint}", file=sys.stderr)
        return 2
    try:
        path = export_onnx(
            model, args.onnx, size=args.size, temperature=args.temperature, opset=args.opset,
            outputs=args.outputs,
        )  # fmt: skip
    except ValueError as e:
        print(f"semcolor-export: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if args.no_check:
        return 0
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.checkpoint import resolve_temperature

    diffs = check_onnx(model, path, args.size, resolve_temperature(model, args.temperature))
    if diffs is None:
        print("onnxruntime is not installed: not checked")
        return 0
    for name, d in diffs.items():
        print(f"  {name}: max |ONNX Runtime - PyTorch| = {d:.2e} Lab units")
    if max(diffs.values()) > CHECK_TOLERANCE:
        print(f"semcolor-export: check failed (tolerance {CHECK_TOLERANCE})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
