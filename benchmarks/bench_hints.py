"""Colour hints (semcolor.color.hints): what one hint recolours, and what it costs.

Quality (``--quality DIR``): on real photos, one point hint per trial placed at a random
pixel; its *region* is the uniform-luminance area around it (``skimage.segmentation.flood``
on the Gaussian-smoothed L, every pixel within ``REGION_TOLERANCE`` L units of the hinted
pixel, connected to it; trials whose region covers less than 1% or more than 60% of the
photo are redrawn). The hint's colour is the one of a saturated palette farthest from the
model's mean colour in that region. Figures:

* fill: the fraction of the region's pixels that moved at least halfway to the hint's
  chroma (``|ab_out - ab_hint| <= |ab_model - ab_hint| / 2``);
* leak: the same fraction over the pixels across a strong edge from it, whose smoothed L
  differs from the hinted pixel's by more than ``LEAK_CONTRAST`` L units (where a hint
  should stop).

Each setting runs on the same photos, trials and model colours, so the rows compare directly:
the baseline (Levin et al.'s system with the prior everywhere, no hint regions: semcolor's
hints before regions), the shipped constants, and any ``--lam``/``--sigma``/``--tolerance``/
``--pull`` settings.

Speed (default, no ``--quality``): seconds per photo without hints (the baseline), with 40
point hints, and the hint step alone (``apply_hints``; and as it was before hint regions,
``PREVIOUS``), at 1 and 12 megapixels, with the shipped default model on CPU.

Run: ``python benchmarks/bench_hints.py [--repeats N]`` (speed);
``python benchmarks/bench_hints.py --quality ../shared/data/imagen1k/val --photos 40
--trials 3 [--lam 1e-3 --sigma 3 --tolerance 8 --pull 0.05]`` (quality).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

#: A pixel is in the hinted region when its smoothed L is within this of the hint's.
REGION_TOLERANCE = 4.0
#: Pixels whose L differs from the hinted pixel's by more than this lie across a strong edge.
LEAK_CONTRAST = 15.0
#: The baseline: semcolor's hints before hint regions (Levin et al.'s system with the prior
#: everywhere): lambda 1e-4, sigma 3 L units, no regions.
PREVIOUS = (1e-4, 3.0, 0.0, 0.0)
#: Saturated hint colours (sRGB); each trial takes the one farthest from the model's colour.
PALETTE = ("#d02020", "#20a020", "#2040d0", "#e0c020", "#c020c0", "#20c0c0")


def speed(repeats: int) -> None:
    import semcolor
    from semcolor.color.fullres import l_from_rgb
    from semcolor.color.hints import apply_hints, parse_hints

    colorizer = semcolor.Colorizer(device="cpu")
    rng = np.random.default_rng(0)
    print("| photo | plain colorize (s) | with 40 hints (s) | hint step alone (s) | "
          "hint step before regions (s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for w, h in ((1200, 900), (4000, 3000)):
        img = (rng.random((h, w)) * 40 + 100).astype(np.uint8)
        img[:, w // 2 :] += 80
        hints = [(int(x), h // 2, "#c02020") for x in np.linspace(10, w // 2 - 10, 40)]
        times = {"plain": [], "hints": [], "step": [], "before": []}
        L = l_from_rgb(img)[None]
        ab = torch.zeros(1, 2, h, w)
        parsed = parse_hints(hints, (h, w))
        for _ in range(repeats):
            t = time.perf_counter()
            colorizer.colorize(img)
            times["plain"].append(time.perf_counter() - t)
            t = time.perf_counter()
            colorizer.colorize(img, hints=hints)
            times["hints"].append(time.perf_counter() - t)
            t = time.perf_counter()
            apply_hints(L, ab, parsed)
            times["step"].append(time.perf_counter() - t)
            t = time.perf_counter()
            apply_hints(L, ab, parsed, strength=PREVIOUS[0], sigma=PREVIOUS[1],
                        region_tolerance=None)  # fmt: skip
            times["before"].append(time.perf_counter() - t)
        m = {k: min(v) for k, v in times.items()}
        print(f"| {w}x{h} ({w * h / 1e6:.1f} MP) | {m['plain']:.2f} | {m['hints']:.2f} | "
              f"{m['step']:.2f} | {m['before']:.2f} | {m['hints'] / m['plain']:.2f} |")


def draw_trial(L: np.ndarray, rng: np.random.Generator, tries: int = 200):
    """(x, y, region mask) of one hint: a random pixel whose uniform-luminance region covers
    1-60% of the photo; None when no such pixel is found."""
    from scipy.ndimage import gaussian_filter
    from skimage.segmentation import flood

    smooth = gaussian_filter(L, 1.0)
    h, w = L.shape
    for _ in range(tries):
        y, x = int(rng.integers(h)), int(rng.integers(w))
        region = flood(smooth, (y, x), tolerance=REGION_TOLERANCE)
        if 0.01 <= region.mean() <= 0.60:
            return x, y, region
    return None


def hint_quality(L: np.ndarray, ab_model: torch.Tensor, x: int, y: int, region: np.ndarray,
                 lam: float, sigma: float, tol: float,
                 pull: float) -> tuple[float, float]:  # fmt: skip
    """(fill, leak) of one point hint at (x, y) on a photo of luminance L (H,W) whose model
    colours are ab_model (1,2,H,W); see the module docstring."""
    from scipy.ndimage import gaussian_filter

    from semcolor.color.hints import _colour_to_ab, _parse_colour, apply_hints, parse_hints

    ab_np = ab_model[0].numpy()
    mean = ab_np[:, region].mean(axis=1)
    cands = [_colour_to_ab(_parse_colour(c, "palette")) for c in PALETTE]
    colour = PALETTE[int(np.argmax([np.hypot(*(c - mean)) for c in cands]))]
    target = _colour_to_ab(_parse_colour(colour, "palette"))[:, None, None]
    out = apply_hints(torch.from_numpy(L)[None], ab_model, parse_hints([(x, y, colour)], L.shape),
                      strength=lam, sigma=sigma, region_tolerance=tol or None,
                      region_pull=pull)[0].numpy()  # fmt: skip
    moved = np.hypot(*(out - target)) <= 0.5 * np.hypot(*(ab_np - target))
    smooth = gaussian_filter(L, 1.0)  # as the region: a pixel's texture is not an edge
    far = np.abs(smooth - smooth[y, x]) > LEAK_CONTRAST
    return float(moved[region].mean()), float(moved[far].mean()) if far.any() else 0.0


def quality(folder: Path, photos: int, trials: int,
            settings: list[tuple[float, float, float]], size: int) -> None:
    import semcolor
    from semcolor.inference import upsample_ab
    from semcolor.inference.api import _prepare

    colorizer = semcolor.Colorizer(device="cpu", size=size)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    files = files[:photos]
    rng = np.random.default_rng(0)
    fills: dict[tuple, list[float]] = {s: [] for s in settings}
    leaks: dict[tuple, list[float]] = {s: [] for s in settings}
    regions = []
    t0 = time.perf_counter()
    for f in files:
        p = _prepare(str(f))
        L = p.L[0].numpy().astype(np.float64)
        ab = upsample_ab(colorizer._predict_net([p]), L.shape).float()
        for _ in range(trials):
            trial = draw_trial(L, rng)
            if trial is None:
                continue
            x, y, region = trial
            regions.append(region.mean())
            for s in settings:
                fill, leak = hint_quality(L, ab, x, y, region, *s)
                fills[s].append(fill)
                leaks[s].append(leak)
    n = len(regions)
    print(f"{folder}: {len(files)} photos, {n} hints (region: {100 * np.median(regions):.1f}% "
          f"of the photo, median), {time.perf_counter() - t0:.0f} s")
    print("| lambda | sigma (L) | region tolerance (L) | region pull | fill: mean | "
          "fill: median | hints filling >= 50% | leak: mean |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in settings:
        fl, lk = np.asarray(fills[s]), np.asarray(leaks[s])
        tol, pull = (f"{s[2]:g}", f"{s[3]:g}") if s[2] else ("off (before)", "-")
        print(f"| {s[0]:g} | {s[1]:g} | {tol} | {pull} | {fl.mean():.3f} | {np.median(fl):.3f} | "
              f"{(fl >= 0.5).mean():.0%} | {lk.mean():.3f} |")


def main() -> None:
    from semcolor import constants as C

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quality", type=Path, default=None, metavar="DIR",
                    help="measure fill and leak on the photos of DIR instead of speed")
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--trials", type=int, default=3, help="hints per photo")
    ap.add_argument("--size", type=int, default=256, help="the network's input side")
    ap.add_argument("--lam", type=float, nargs="*", default=[],
                    help="other prior strengths to compare (paired with --sigma, --tolerance)")
    ap.add_argument("--sigma", type=float, nargs="*", default=[])
    ap.add_argument("--tolerance", type=float, nargs="*", default=[],
                    help="region tolerances (L units; 0 = no regions, the method before)")
    ap.add_argument("--pull", type=float, nargs="*", default=[], help="region pulls")
    args = ap.parse_args()
    if args.quality is None:
        speed(args.repeats)
        return
    if not len(args.lam) == len(args.sigma) == len(args.tolerance) == len(args.pull):
        ap.error("--lam, --sigma, --tolerance and --pull take the same number of values")
    settings = [
        PREVIOUS,  # the baseline: before hint regions
        (C.HINT_PRIOR_LAMBDA, C.HINT_SIGMA_L, C.HINT_REGION_TOLERANCE_L, C.HINT_REGION_PULL),
        *zip(args.lam, args.sigma, args.tolerance, args.pull, strict=True),
    ]
    quality(args.quality, args.photos, args.trials, list(dict.fromkeys(settings)), args.size)


if __name__ == "__main__":
    main()
