"""How much colour each distribution-target mode keeps: the ceiling of a stride-4 head.

For each image of a split (default: imagen1k/val, a split for choosing), at the bench size
(256x256, PIL bicubic, colourless excluded), the stride-4 targets of each mode of
:mod:`semcolor.color.targets` ("cell", "subsample", "area") are decoded the way the model's
output is (annealed mean at T = 0.38, and the plain mean), upsampled with the inference
path's ``upsample_ab`` and recombined with the exact L: what a head that predicted its
targets perfectly would score. PSNR and colourfulness use the bench's metric code; the
gray baseline (ab = 0) is the named baseline of the same run. Prints a table; not a test.

``--subsample-variants`` adds where "subsample" could take its one pixel per cell: the
top-left pixel (``ab[..., ::s, ::s]``, Zhang et al.'s code and semcolor 0.2), pixel s//2
(half a pixel past the centre for even s) and pixel s//2 - 1 (half a pixel before it);
the library's "subsample" row is the cell centre (the mean of the central 2x2 for even s).

    python benchmarks/bench_dist_targets.py [--root ../shared/data/imagen1k/val] [--limit N]
        [--subsample-variants]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/imagen1k/val")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--subsample-variants", action="store_true",
                    help="also score other pixels 'subsample' could take per cell")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from semcolor.color import annealed_mean, mean, soft_encode_sparse
    from semcolor.color.targets import DIST_TARGET_MODES, DistTargets, distribution_targets
    from semcolor.evaluation import lab_of, list_dataset_images, load_ground_truth, recombine
    from semcolor.inference import upsample_ab
    from semcolor.metrics import MetricAccumulator, evaluate_pair, grayscale_baseline, is_colourless

    paths = list_dataset_images("folder", args.root, limit=args.limit)
    accs: dict[str, MetricAccumulator] = {"gray": MetricAccumulator()}
    gt_cf = []
    n = 0
    for path in paths:
        gt = load_ground_truth(path, 256)
        if is_colourless(gt):
            continue
        n += 1
        lab = lab_of([gt])
        L, ab = lab[:, :1].float(), lab[:, 1:].float()
        accs["gray"].update(evaluate_pair(grayscale_baseline(gt), gt))
        gt_cf.append(evaluate_pair(gt, gt, keys=("colorfulness",))["colorfulness"])
        s = args.stride
        hw = (256 // s, 256 // s)
        targets = {mode: distribution_targets(ab, hw, mode) for mode in DIST_TARGET_MODES}
        if args.subsample_variants:
            for name, off in (("top-left", 0), ("pixel s//2", s // 2),
                              ("pixel s//2-1", max(s // 2 - 1, 0))):  # fmt: skip
                idx, wts = soft_encode_sparse(ab[..., off::s, off::s])
                targets[f"subsample@{name}"] = DistTargets(idx=idx, wts=wts)
        for mode, t in targets.items():
            dense = t.dense
            if dense is None:
                dense = torch.zeros(1, 313, *hw).scatter_add_(1, t.idx, t.wts)
            # decode a distribution as the model's softmax would be: logits = log q
            logits = torch.log(dense.clamp_min(1e-12))
            for dec, fn in (("annealed", lambda z: annealed_mean(z, 0.38)), ("mean", mean)):
                pred = recombine(L, upsample_ab(fn(logits), (256, 256)))[0]
                accs.setdefault(f"{mode}/{dec}", MetricAccumulator()).update(
                    evaluate_pair(pred, gt)
                )
    print(
        f"{n} colourful images of {args.root} at 256x256, stride {args.stride}: targets "
        "decoded, upsampled and recombined with the exact L (a perfect head's score)"
    )
    print(f"ground-truth colourfulness M3 {np.mean(gt_cf):.2f}")
    base = accs["gray"].compute()["psnr"]
    print(f"{'targets/decoding':>22} | {'PSNR dB':>7} | vs gray | {'L2ab':>6} | {'M3':>6}")
    for name, acc in accs.items():
        s = acc.compute()
        print(f"{name:>22} | {s['psnr']:7.2f} | {s['psnr'] - base:+6.2f}  | {s['l2ab']:6.2f} | "
              f"{s['colorfulness']:6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
