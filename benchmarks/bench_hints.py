"""Cost of colour hints (semcolor.color.hints) against plain colorization, at 1 and 12
megapixels, with the shipped default model on CPU: the hint solve runs at a working
resolution (longest side 384), so its cost should hardly grow with the photo.

Run: ``python benchmarks/bench_hints.py [--repeats N]``. Prints seconds per photo without
hints (the baseline), with 40 point hints, and the hint step alone (``apply_hints``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    import semcolor
    from semcolor.color.fullres import l_from_rgb
    from semcolor.color.hints import apply_hints, parse_hints

    colorizer = semcolor.Colorizer(device="cpu")
    rng = np.random.default_rng(0)
    print("| photo | plain colorize (s) | with 40 hints (s) | hint step alone (s) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for w, h in ((1200, 900), (4000, 3000)):
        img = (rng.random((h, w)) * 40 + 100).astype(np.uint8)
        img[:, w // 2 :] += 80
        hints = [(int(x), h // 2, "#c02020") for x in np.linspace(10, w // 2 - 10, 40)]
        times = {"plain": [], "hints": [], "step": []}
        L = l_from_rgb(img)[None]
        ab = torch.zeros(1, 2, h, w)
        parsed = parse_hints(hints, (h, w))
        for _ in range(args.repeats):
            t = time.perf_counter()
            colorizer.colorize(img)
            times["plain"].append(time.perf_counter() - t)
            t = time.perf_counter()
            colorizer.colorize(img, hints=hints)
            times["hints"].append(time.perf_counter() - t)
            t = time.perf_counter()
            apply_hints(L, ab, parsed)
            times["step"].append(time.perf_counter() - t)
        m = {k: min(v) for k, v in times.items()}
        print(f"| {w}x{h} ({w * h / 1e6:.1f} MP) | {m['plain']:.2f} | {m['hints']:.2f} | "
              f"{m['step']:.2f} | {m['hints'] / m['plain']:.2f} |")


if __name__ == "__main__":
    main()
