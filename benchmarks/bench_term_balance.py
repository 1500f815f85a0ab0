"""Gradient norm of each loss term on the shared trunk (encoder), to balance the weights.

For a composed training config (default: ``+experiment=default_model`` on the shared data),
draws a few real training batches and, for each term of the multi-task loss (dist, reg,
scene, seg) with weight 1, measures ||d term / d encoder parameters||; then prints the
terms' values and norms, and each configured weight times its norm, relative to L_dist
(the named baseline). A head "contributes" when its weighted norm is within a few times the
others'. Not a test; prints figures only.

    python benchmarks/bench_term_balance.py [--batches 4] [overrides ...]
    python benchmarks/bench_term_balance.py --batches 4 +experiment=default_model \
        paths.data_root=../shared/data
"""

from __future__ import annotations

import argparse
import math

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("overrides", nargs="*", default=["+experiment=default_model"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate

    from semcolor.color import normalize_l

    with initialize_config_module("semcolor.conf", version_base="1.3"):
        cfg = compose(
            "train", overrides=[*args.overrides, "paths.output_dir=/tmp/semcolor_balance"]
        )
    dm = instantiate(cfg.data, _convert_="all")
    net = instantiate(cfg.model, _convert_="all").train()
    loss = instantiate(cfg.loss, _convert_="all")
    loss.rebalance = False  # the prior changes the scale of L_dist by O(1) only
    weights = {"dist": loss.w_dist, "reg": loss.w_reg, "scene": loss.w_scene, "seg": loss.w_seg}
    # One term at a time: weight 1, the others 0.
    terms = [t for t, w in weights.items() if w > 0]
    enc = [p for p in net.encoder.parameters() if p.requires_grad]
    loader = dm.train_dataloader()
    sums = {t: [0.0, 0.0] for t in terms}
    for i, b in enumerate(loader):
        if i >= args.batches:
            break
        for t in terms:
            for name in weights:
                setattr(loss, f"w_{name}", 1.0 if name == t else 0.0)
            net.zero_grad(set_to_none=True)
            out = net(normalize_l(b["L"]))
            res = loss(out, b)
            if t not in res.terms:
                continue
            res.total.backward()
            g = math.sqrt(sum(float(p.grad.square().sum()) for p in enc if p.grad is not None))
            sums[t][0] += float(res.terms[t])
            sums[t][1] += g
    n = max(1, min(args.batches, len(loader)))
    print(f"{n} batches of {cfg.data.batch_size} crops, encoder {cfg.model.encoder}")
    print(f"{'term':>5} | {'value':>8} | {'|grad| enc':>10} | {'weight':>6} | w*|grad| | vs dist")
    base = weights.get("dist", 0) * sums.get("dist", [0, 0])[1] / n if "dist" in sums else None
    for t in terms:
        v, g = sums[t][0] / n, sums[t][1] / n
        wg = weights[t] * g
        rel = f"{wg / base:6.2f}x" if base else "   -"
        print(f"{t:>5} | {v:8.4f} | {g:10.4f} | {weights[t]:6.2f} | {wg:8.4f} | {rel}")


if __name__ == "__main__":
    main()
