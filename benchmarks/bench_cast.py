"""Where the colour cast comes from: the data, the rebalancing or the decoding.

On a choosing split (default imagen1k/val), with the bench's protocol and metric code
(:func:`semcolor.evaluation.predict_images` decodings, :func:`semcolor.metrics.evaluate_pair`):

* **data**: the mean a, b of the training data's rebalancing prior (the distribution the
  checkpoint stores, counted on its training sample) beside the split's own mean a, b;
* **decoding of the truth**: the annealed mean of each image's *exact* 4x4-cell
  distribution (the targets a perfect head would output) at each T: what the decoding alone
  does to the cast;
* **the model**: its distribution head decoded at each T, as trained (class-rebalanced
  cross-entropy teaches the head p(bin) x w(bin), tilted toward rare colours), and with that
  tilt divided out (logits - log w: the prior correction), and with the mean-preserving
  tilt that ``semcolor-calibrate`` applies (:func:`semcolor.color.mean_preserving_tilt`:
  only the tilt's shift of the mean colour removed); and its regression head.

Per decoding: PSNR, M3 / ground-truth M3, and the cast (mean predicted a, b minus the
truth's, per image, averaged).

    python benchmarks/bench_cast.py --ckpt CKPT --root $DATA/imagen1k/val [--limit N]

Give it a checkpoint that is not tilted yet (a training checkpoint, or one calibrated with
``--no-tilt``): "as trained" must be the head as trained.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from semcolor.color import AB_BINS, mean_preserving_tilt
from semcolor.color.targets import distribution_targets
from semcolor.data.bench_images import load_ground_truth
from semcolor.evaluation import lab_of, list_dataset_images, recombine
from semcolor.inference import annealed_mean_per_image, load_model, network_outputs, upsample_ab
from semcolor.metrics import colorfulness, evaluate_pair, is_colourless

TEMPERATURES = (0.2, 0.38, 0.55, 0.7, 1.0)
KEYS = ("psnr", "colorfulness", "cast_a", "cast_b")


def score(preds, gts) -> dict[str, float]:
    rows = [evaluate_pair(p, g, keys=KEYS) for p, g in zip(preds, gts, strict=True)]
    out = {k: float(np.mean([r[k] for r in rows])) for k in KEYS}
    out["m3_ratio"] = out["colorfulness"] / float(np.mean([colorfulness(g) for g in gts]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", default=None, help="checkpoint (default: the shipped model)")
    ap.add_argument("--root", required=True, help="a folder of photos (a choosing split)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.ckpt, device="cpu")
    paths = list_dataset_images("folder", args.root)[: args.limit]
    gts = [g for g in (load_ground_truth(p, 256) for p in paths) if not is_colourless(g)]
    lab_all = lab_of(gts)
    gt_mean = lab_all[:, 1:].mean(dim=(0, 2, 3)).tolist()
    prior = model.prior  # dict of arrays: counts, p, p_smooth, weights, sigma, lam
    w = torch.as_tensor(np.asarray(prior["weights"]), dtype=torch.float32) if prior else None
    bins = torch.as_tensor(np.array(AB_BINS), dtype=torch.float64)
    if prior is not None:
        tilt = torch.as_tensor(mean_preserving_tilt(prior["p"], prior["weights"])[0],
                               dtype=torch.float32)  # fmt: skip
    print(f"{args.root}: {len(gts)} colourful images; checkpoint {model.path}; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"split mean a, b: {gt_mean[0]:+.2f}, {gt_mean[1]:+.2f}")
    if prior is not None:
        for name, p in (("prior (training sample)", prior["p"]),
                        ("rebalanced (prior x weights)",
                         np.asarray(prior["p"]) * np.asarray(prior["weights"]))):
            p = torch.as_tensor(np.asarray(p), dtype=torch.float64)
            p = p / p.sum()
            m = (p[:, None] * bins).sum(0)
            print(f"{name} mean a, b: {m[0]:+.2f}, {m[1]:+.2f}")

    rows: dict[str, dict[str, float]] = {}
    preds: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(gts), args.batch):
        g = gts[i : i + args.batch]
        lab = lab_of(g)
        L, ab = lab[:, :1], lab[:, 1:]
        out = network_outputs(model.net, L, 256, precision="fp32")
        logits = out.ab_logits.float()
        hw = tuple(L.shape[-2:])
        truth = distribution_targets(ab, tuple(logits.shape[-2:]), mode="cell").dense
        for T in TEMPERATURES:
            cases = {
                f"truth cell, T={T}": annealed_mean_per_image(truth.clamp_min(1e-12).log(), T),
                f"dist as trained, T={T}": annealed_mean_per_image(logits, T),
            }
            if w is not None:
                corr = logits - w.log()[None, :, None, None]
                cases[f"dist, prior-corrected, T={T}"] = annealed_mean_per_image(corr, T)
                cases[f"dist, mean-preserving tilt, T={T}"] = annealed_mean_per_image(
                    logits + tilt[None, :, None, None], T)
            for name, a in cases.items():
                preds.setdefault(name, []).extend(recombine(L, upsample_ab(a, hw)))
        if out.ab_reg is not None:
            preds.setdefault("reg", []).extend(recombine(L, upsample_ab(out.ab_reg.float(), hw)))
    for name, p in preds.items():
        rows[name] = score(p, gts)
    print(f"{'decoding':>36} | PSNR dB | M3/GT | cast a | cast b")
    for name, r in rows.items():
        print(f"{name:>36} | {r['psnr']:7.2f} | {r['m3_ratio']:5.2f} | {r['cast_a']:+6.2f} | "
              f"{r['cast_b']:+6.2f}")


if __name__ == "__main__":
    main()
