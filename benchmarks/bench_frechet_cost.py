"""What the offline Fréchet figure (FD-Lite0) costs a bench run.

Runs :func:`semcolor.evaluation.evaluate_images` on the same images with the shipped default
model (or ``--ckpt``), alternately without (the named baseline) and with the FD-Lite0 feature
pass, ``--repeats`` times each, and prints the wall times (the image loop, as
``speed.wall_s``), the feature-pass time the run itself measured (``speed.frechet_s``) and
the ratio. Use a split for choosing (default imagen1k/val). Prints; not a test.

    python benchmarks/bench_frechet_cost.py [--root ../shared/data/imagen1k/val] [--limit 64]
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="../shared/data/imagen1k/val")
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from semcolor.evaluation import evaluate_images, list_dataset_images
    from semcolor.inference import load_model

    model = load_model(args.ckpt, device="cpu")
    paths = list_dataset_images("folder", args.root, limit=args.limit)
    evaluate_images(paths[:4], model, progress=False)  # warm-up: builds the feature network
    wall: dict[bool, list[float]] = {False: [], True: []}
    fd_s: list[float] = []
    for _ in range(args.repeats):
        for frechet in (False, True):
            res = evaluate_images(paths, model, progress=False, frechet=frechet)
            wall[frechet].append(res.speed["wall_s"])
            if frechet:
                fd_s.append(res.speed["frechet_s"])
    base, with_fd = statistics.median(wall[False]), statistics.median(wall[True])
    print(f"{res.n_images} images of {args.root}, {args.repeats} alternating runs each, "
          f"{args.threads} threads, load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print(f"baseline (frechet=False): median wall {base:.1f} s  {sorted(wall[False])}")
    print(f"with FD-Lite0:            median wall {with_fd:.1f} s  {sorted(wall[True])}")
    print(f"feature pass + distances inside the run: median {statistics.median(fd_s):.1f} s "
          f"= {statistics.median(fd_s) / with_fd:.1%} of the run")  # fmt: skip
    print(f"ratio with / without: {with_fd / base:.3f}")


if __name__ == "__main__":
    main()
