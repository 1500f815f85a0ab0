"""Training throughput (images/s): semcolor's training step vs Zhang et al.'s ECCV16 network.

One step = forward + multi-task loss (soft-encoding on the training device included) +
backward + AdamW update, on a random batch with every kind of label, in train mode.

Rows:
  * ``semcolor default`` — the root config's network (``model=resnet18``: ResNet-18 encoder,
    all four heads, distribution head at 1/4 resolution), COCO-Stuff/Places365 head sizes;
  * ``semcolor default_model`` — the shipped model's recipe (``+experiment=default_model``:
    MobileNetV2 encoder, 200 scene / 11 segmentation classes);
  * ``ECCV16 (baseline)`` — Zhang et al.'s network (rebuilt in bench_model_latency.py) with
    its own loss only (rebalanced soft cross-entropy at 1/4 resolution).

    python benchmarks/bench_train.py [--size 224] [--batch 8] [--steps 3] [--threads 2]

``--precision`` instead compares CPU training of the shipped model's network
(``+experiment=default_model``: EfficientNet-Lite0, packaged ImageNet weights) in fp32 (the
baseline) with ``bf16-mixed`` autocast and ``channels_last`` memory format, all in the same
run, and with ``--curve N`` also trains each for N steps on the same fixed stream of random
batches and prints the loss curve (mean of each tenth), to check that the curves agree:

    python benchmarks/bench_train.py --precision --size 128 --batch 16 --steps 10 --curve 300

On CUDA (``--device cuda``) its rows are fp32 (the baseline; convolutions in TF32, PyTorch's
default, which the header states), bf16-mixed, and bf16-mixed + channels_last (what
``trainer.precision=auto`` and ``module.memory_format=auto`` pick there); ``--compile`` adds
the last under ``torch.compile`` (as ``module.compile=true`` runs it), on either device. The
first step of each mode (compilation, cuDNN's algorithm search) is timed apart, the peak GPU
memory shown, and ``--markdown`` / ``--json`` write the table (benchmarks/gpu_slot.py):

    python benchmarks/bench_train.py --precision --device cuda --compile --size 128 \
        --batch 256 --steps 30 --warmup-steps 3 --markdown train_gpu.md --json train_gpu.json

``--e2e`` measures the real training loop against the pure step, in one run: the default
recipe (``+experiment=default_model``, or the Hydra overrides given after ``--``) trained by
``semcolor-train``'s own ``build()`` and ``Trainer.fit`` on its real data (loader, Lightning,
logging, the recipe's precision and memory format), interleaved round by round with the
pure step of the same network on batches recorded from that loader (forward, loss,
backward, clipping, AdamW; no loader, no Lightning), so that the shared machine's drift hits
both alike; the four precision/format modes' pure rates say which is fastest. It also times
validation and the start-up, and gives their share of the recipe's whole run:

    python benchmarks/bench_train.py --e2e --steps 20 --rounds 5 -- +experiment=default_model \
        paths.data_root=$DATA data.photos_root=$PHOTOS data.labels_root=$LABELS
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_inference import update_readme  # noqa: E402
from bench_model_latency import ECCV16Net  # noqa: E402

from semcolor import constants as C  # noqa: E402
from semcolor import hardware  # noqa: E402
from semcolor.color import normalize_l  # noqa: E402
from semcolor.losses import MultiTaskLoss, soft_ce_loss  # noqa: E402
from semcolor.models import SemColorNet  # noqa: E402


def batch(b: int, size: int, n_scene: int, n_seg: int, device, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    out = {
        "L": torch.rand(b, 1, size, size, generator=g) * 100,
        "ab": torch.randn(b, 2, size, size, generator=g) * 25,
        "colorful": torch.ones(b, dtype=torch.bool),
        "scene": torch.softmax(torch.randn(b, n_scene, generator=g), 1),
        "has_scene": torch.ones(b, dtype=torch.bool),
        "seg": torch.randint(0, n_seg, (b, size, size), generator=g),
        "has_seg": torch.ones(b, dtype=torch.bool),
    }
    return {k: v.to(device) for k, v in out.items()}


def time_steps(step, steps: int, sync, warmup: int = 1) -> float:
    """Mean seconds per step over ``steps`` steps, after ``warmup`` untimed ones."""
    return time_steps_first(step, steps, sync, warmup)[0]


def time_steps_first(step, steps: int, sync, warmup: int = 1) -> tuple[float, float]:
    """(mean seconds per step after ``warmup`` untimed steps, seconds of the first step):
    the first step holds what a mode pays once (torch.compile's compilation, cuDNN's
    algorithm search)."""
    t = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t
    for _ in range(warmup - 1):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - t) / steps, first


def default_model_net(dev) -> SemColorNet:
    """The network of +experiment=default_model (packaged ImageNet weights if installed)."""
    from semcolor.models.encoders import PACKAGED_WEIGHTS

    try:
        PACKAGED_WEIGHTS["tu-efficientnet_lite0"].file()
        weights = "imagenet"
    except ImportError:
        weights = None
    return SemColorNet(
        "tu-efficientnet_lite0", encoder_weights=weights, dist_stride=4,
        decoder_channels=[128, 64, 48, 32, 16], num_scene_classes=200, num_seg_classes=11,
    ).to(dev)  # fmt: skip


#: --precision modes: name -> (bf16 autocast, channels_last, torch.compile). On CPU all four
#: precision/format pairs; on CUDA fp32, bf16 autocast, and bf16 + channels_last (what
#: trainer.precision=auto and module.memory_format=auto pick on Ampere and newer).
PRECISION_BASE = "fp32 (baseline)"
PRECISION_MODES_CPU = {PRECISION_BASE: (False, False, False), "bf16-mixed": (True, False, False),
                       "channels_last": (False, True, False),
                       "bf16-mixed + channels_last": (True, True, False)}  # fmt: skip
PRECISION_MODES_CUDA = {PRECISION_BASE: (False, False, False), "bf16-mixed": (True, False, False),
                        "bf16-mixed + channels_last": (True, True, False)}  # fmt: skip
#: --compile adds the fastest uncompiled mode of the recipe (bf16 + channels_last) under
#: torch.compile, as module.compile=true runs it (the call compiled, not the module).
COMPILED_MODE = ("bf16-mixed + channels_last + compile", (True, True, True))


def precision_modes(dev, compile_: bool) -> dict[str, tuple[bool, bool, bool]]:
    """The --precision rows for ``dev``, with the compiled one when ``compile_``."""
    modes = dict(PRECISION_MODES_CUDA if dev.type == "cuda" else PRECISION_MODES_CPU)
    if compile_:
        modes[COMPILED_MODE[0]] = COMPILED_MODE[1]
    return modes


def precision_rows(args, dev, sync) -> None:
    """fp32 vs bf16-mixed autocast vs channels_last (and torch.compile with --compile), same
    network, same batches, in one run; ratios against fp32. On CPU or CUDA (--device). The
    --markdown / --json files are rewritten after every mode, so that a run stopped by a
    time limit keeps the rows it finished."""
    import gc

    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # every mode searches its convolution algorithms
    where = (f"CUDA {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, TF32 "
             f"convolutions {torch.backends.cudnn.allow_tf32}, TF32 matmuls "
             f"{torch.backends.cuda.matmul.allow_tf32}" if cuda
             else f"CPU {hardware.describe_cpu()}, {args.threads} threads")  # fmt: skip
    times, firsts, peaks, curves = {}, {}, {}, {}
    for name, (bf16, cl, compiled) in precision_modes(dev, args.compile).items():
        torch.manual_seed(0)
        if cuda:
            gc.collect()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        net = default_model_net(dev).train()
        fmt = torch.channels_last if cl else torch.contiguous_format
        net = net.to(memory_format=fmt)
        fwd = torch.compile(net, backend=args.compile_backend) if compiled else net
        loss_fn = MultiTaskLoss().to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
        data = batch(args.batch, args.size, 200, 11, dev)

        def step(fwd=fwd, loss_fn=loss_fn, opt=opt, data=data, bf16=bf16, fmt=fmt):
            opt.zero_grad(set_to_none=True)
            x = normalize_l(data["L"]).contiguous(memory_format=fmt)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                out = fwd(x)
            loss = loss_fn(out, data).total
            loss.backward()
            opt.step()
            return loss.detach()  # no float(): a host sync per step would stall the GPU queue

        times[name], firsts[name] = time_steps_first(step, args.steps, sync, args.warmup_steps)
        if cuda:
            peaks[name] = torch.cuda.max_memory_allocated(dev) / 2**30
        if args.curve:
            losses = []
            for i in range(args.curve):
                d = batch(args.batch, args.size, 200, 11, dev, seed=1000 + i)
                losses.append(float(step(data=d)))
            tenth = max(1, len(losses) // 10)
            curves[name] = [
                sum(losses[j : j + tenth]) / tenth for j in range(0, len(losses), tenth)
            ]
        del net, fwd, opt, step
        title = (f"training step of the default_model network, batch {args.batch} at "
                 f"{args.size}x{args.size}, {where}; mean of {args.steps} steps after "
                 f"{args.warmup_steps} warm-up step(s); load average {os.getloadavg()[0]:.2f}")
        write_precision_files(args, dev, title, times, firsts, peaks)
    print_rows(title, times, PRECISION_BASE, args.batch, "mode")
    print(f"{'first step (compile, cuDNN search), s':>40}: "
          + ", ".join(f"{n} {v:.1f}" for n, v in firsts.items()))  # fmt: skip
    if peaks:
        print(f"{'peak GPU memory, GiB':>40}: "
              + ", ".join(f"{n} {v:.2f}" for n, v in peaks.items()))  # fmt: skip
    ref = curves.get(PRECISION_BASE)
    for name, c in curves.items():
        gap = max(abs(v - r) / abs(r) for v, r in zip(c, ref, strict=True))
        print(f"loss curve {name:>28}: " + " ".join(f"{v:.3f}" for v in c)
              + ("" if c is ref else f" | max gap vs fp32 {100 * gap:.2f}%"))


def write_precision_files(args, dev, title: str, times: dict, firsts: dict,
                          peaks: dict) -> None:  # fmt: skip
    """The --precision rows so far as --json and --markdown (ratios against fp32)."""
    base = times.get(PRECISION_BASE)
    rows = [{"mode": n, "s_per_step": t, "images_per_s": args.batch / t,
             "vs_fp32": base / t if base else None, "first_step_s": firsts[n],
             "peak_gib": peaks.get(n)} for n, t in times.items()]  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"title": title, "device": str(dev), "batch": args.batch, "size": args.size,
             "steps": args.steps, "warmup_steps": args.warmup_steps,
             "compile_backend": args.compile_backend,
             "modes": list(precision_modes(dev, args.compile)), "rows": rows},
            indent=1))  # fmt: skip
    if args.markdown:
        lines = [title, "", "| mode | s/step | images/s | vs fp32 | first step s |"
                 + (" peak GiB |" if peaks else ""),
                 "|---|---:|---:|---:|---:|" + ("---:|" if peaks else "")]  # fmt: skip
        for r in rows:
            ratio = f"{r['vs_fp32']:.2f}x" if r["vs_fp32"] else "—"
            lines.append(f"| {r['mode']} | {r['s_per_step']:.4f} | {r['images_per_s']:.1f} | "
                         f"{ratio} | {r['first_step_s']:.1f} |"
                         + (f" {r['peak_gib']:.2f} |" if peaks else ""))  # fmt: skip
        Path(args.markdown).write_text("\n".join(lines) + "\n")


#: Pure-step modes: (bf16 autocast, channels_last).
MODES = {"fp32": (False, False), "bf16-mixed": (True, False), "channels_last": (False, True),
         "bf16-mixed + channels_last": (True, True)}  # fmt: skip


def _pure_step(module, batches, bf16: bool, fmt):
    """A step function of ``module``'s network and loss with nothing around it: forward,
    loss, backward, gradient clipping at 1.0 (the recipe's), AdamW (the module's groups)."""
    from torch.nn.utils import clip_grad_norm_

    module.net.to(memory_format=fmt)
    module.memory_format = fmt
    opt = module.make_optimizer(module.optimizer_factory)

    def step(i):
        b = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = module.criterion(module(b["L"]), b).total
        loss.backward()
        clip_grad_norm_(module.parameters(), 1.0)
        opt.step()

    return step


def e2e_rows(args, overrides: list[str]) -> None:
    """The real loop (semcolor-train's build + Trainer.fit) vs the pure step, same run.

    Interleaved, so that the shared machine's drift hits both alike: after ``--warmup``
    steps, each of ``--rounds`` rounds times ``--steps`` steps of the real loop, then (from a
    training callback, its time left out of the loop's) ``--steps`` pure steps of a copy of
    the network in the loop's own precision and memory format on recorded real batches.
    The ratio is the median over rounds of (loop rate / pure rate). Then the four modes'
    pure rates, once each, say which mode is fastest."""
    import copy

    import pytorch_lightning as pl
    from hydra import compose, initialize_config_module

    from semcolor.cli.train import build

    seg, rounds, w = args.steps, args.rounds, args.warmup
    out = tempfile.mkdtemp(prefix="bench_e2e_")
    with initialize_config_module("semcolor.conf", version_base="1.3"):
        cfg = compose("train", overrides=[
            *(overrides or ["+experiment=default_model"]), f"paths.output_dir={out}",
            "logger=csv", "trainer.enable_progress_bar=false", "trainer.limit_val_batches=0",
            f"trainer.max_steps={w + rounds * seg}",
            "callbacks.model_checkpoint.every_n_train_steps=100000",
        ])  # fmt: skip
    recipe_steps = int(compose_value(overrides, "trainer.max_steps", cfg))
    bs = cfg.data.batch_size

    class Interleave(pl.Callback):
        def __init__(self):
            self.first = self.mark = None
            self.batches: list[dict] = []
            self.loop: list[float] = []
            self.pure: list[float] = []
            self.step = None

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            now = time.perf_counter()
            if self.first is None:
                self.first = now
            if len(self.batches) < args.pure_batches:
                self.batches.append({k: v.clone() for k, v in batch.items()})
            n = trainer.global_step
            if n == w:
                self.mark = now
            elif n > w and (n - w) % seg == 0:
                self.loop.append(seg * bs / (now - self.mark))
                if self.step is None:  # a copy in the loop's own precision and format
                    twin = copy.deepcopy(module)
                    self.step = _pure_step(twin, self.batches, "bf16" in str(trainer.precision),
                                           module.memory_format)  # fmt: skip
                    self.step(0)
                t = time.perf_counter()
                for i in range(seg):
                    self.step(i)
                self.pure.append(seg * bs / (time.perf_counter() - t))
                self.mark = time.perf_counter()

    t0 = time.perf_counter()
    dm, module, trainer = build(cfg)
    clock = Interleave()
    trainer.callbacks.append(clock)
    trainer.fit(module, datamodule=dm)
    startup = clock.first - t0  # to the end of the first step (includes that step)
    ratios = [a / b for a, b in zip(clock.loop, clock.pure, strict=True)]

    # Validation: passes as the recipe runs them (same module, its own val loader).
    validator = pl.Trainer(accelerator="cpu", precision=trainer.precision, logger=False,
                           enable_progress_bar=False, enable_checkpointing=False)
    val_s = []
    for _ in range(2):  # the first pass also scores the gray baseline, which later ones reuse
        vt = time.perf_counter()
        validator.validate(module, datamodule=dm, verbose=False)
        val_s.append(time.perf_counter() - vt)
    every = cfg.trainer.get("val_check_interval") or recipe_steps
    n_val = max(1, recipe_steps // int(every)) if isinstance(every, int) else 1
    val_total = val_s[0] + (n_val - 1) * val_s[1]

    # Each mode once, from the same weights, to say which is fastest.
    state = copy.deepcopy(module.net.state_dict())
    modes: dict[str, float] = {}
    for name, (bf16, cl) in MODES.items():
        module.net.load_state_dict(state)
        step = _pure_step(module, clock.batches, bf16,
                          torch.channels_last if cl else torch.contiguous_format)  # fmt: skip
        for i in range(2):
            step(i)
        t = time.perf_counter()
        for i in range(seg):
            step(i)
        modes[name] = seg * bs / (time.perf_counter() - t)
    best = max(modes, key=modes.get)
    med = statistics.median
    print(f"CPU: {hardware.describe_cpu()}; {torch.get_num_threads()} torch threads, "
          f"{cfg.data.num_workers} loader worker(s); load average {os.getloadavg()}")
    print(f"recipe: {' '.join(overrides) or '+experiment=default_model'}; batch {bs} at "
          f"{cfg.data.crop_size}^2; loop precision {trainer.precision}, memory format "
          f"{module.memory_format}")
    print(f"pure step, each mode once ({seg} steps; fastest: {best}):")
    for name, v in modes.items():
        print(f"  {name:>28} | {v:6.2f} images/s | {v / modes[best]:6.1%}")
    print(f"interleaved, {rounds} rounds of {seg} steps each (images/s per round):")
    print(f"  {'pure step, loop mode':>28} | " + " ".join(f"{v:6.2f}" for v in clock.pure))
    print(f"  {'end to end (semcolor-train)':>28} | " + " ".join(f"{v:6.2f}" for v in clock.loop))
    print(f"  {'ratio':>28} | " + " ".join(f"{v:6.1%}" for v in ratios))
    print(f"end to end / pure step: median {med(ratios):.1%} (min {min(ratios):.1%}, max "
          f"{max(ratios):.1%}); end to end {med(clock.loop):.2f} images/s, pure "
          f"{med(clock.pure):.2f}")
    if args.markdown or args.update_readme:
        table = e2e_markdown(args, overrides, cfg, trainer, module, modes, best, clock,
                             ratios, val_s, n_val, recipe_steps, startup)  # fmt: skip
        if args.markdown:
            Path(args.markdown).write_text(table)
        if args.update_readme:
            update_readme(args.update_readme, table, E2E_BEGIN, E2E_END)
    passes = f"validation passes {val_s[0]:.1f} s (first) and {val_s[1]:.1f} s (later)"
    if recipe_steps <= 0:
        print(f"start-up {startup:.1f} s; {passes} (the recipe counts epochs, not steps: no "
              "whole-run estimate)")
        return
    train_s = recipe_steps * bs / med(clock.loop)
    total = startup + train_s + val_total
    print(f"start-up {startup:.1f} s; {passes}, {n_val} in the recipe's {recipe_steps} steps; "
          f"estimated recipe wall time {total / 60:.1f} min, of which validation "
          f"{val_total / total:.1%}, start-up {startup / total:.1%}")


#: README markers of the block :func:`e2e_markdown` writes.
E2E_BEGIN = "<!-- bench_train_e2e:begin (generated: benchmarks/train_speed_report.sh) -->"
E2E_END = "<!-- bench_train_e2e:end -->"


def e2e_markdown(args, overrides, cfg, trainer, module, modes, best, clock, ratios, val_s,
                 n_val, recipe_steps, startup) -> str:
    """The --e2e figures as a Markdown block (command, machine, tables)."""
    med = statistics.median
    bs = cfg.data.batch_size
    cmd = ("python benchmarks/bench_train.py --e2e --steps "
           f"{args.steps} --rounds {args.rounds} --warmup {args.warmup} -- "
           + " ".join(o for o in overrides if "=/" not in o))  # fmt: skip
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"`{cmd}` (data paths left out): CPU {hardware.describe_cpu()}; "
        f"{torch.get_num_threads()} threads, {cfg.data.num_workers} loader workers; loop "
        f"precision {trainer.precision}, {str(module.memory_format).split('.')[-1]}; batch "
        f"{bs} at {cfg.data.crop_size}²; load average at the end {load}.",
        "",
        "| row | images/s | vs the fastest pure step |",
        "|---|---:|---:|",
        *(f"| pure step, {n} | {v:.2f} | {v / modes[best]:.1%} |" for n, v in modes.items()),
        "",
        f"| interleaved ({args.rounds} rounds of {args.steps} steps) | median images/s | "
        "per round |",
        "|---|---:|---|",
        f"| pure step (loop's mode) | {med(clock.pure):.2f} | "
        + " ".join(f"{v:.2f}" for v in clock.pure) + " |",
        f"| end to end (`semcolor-train`) | {med(clock.loop):.2f} | "
        + " ".join(f"{v:.2f}" for v in clock.loop) + " |",
        f"| **end to end / pure** | **{med(ratios):.1%}** | "
        + " ".join(f"{v:.1%}" for v in ratios) + " |",
        "",
    ]
    if recipe_steps > 0:
        val_total = val_s[0] + (n_val - 1) * val_s[1]
        total = startup + recipe_steps * bs / med(clock.loop) + val_total
        lines.append(
            f"Validation passes {val_s[0]:.1f} s (first) and {val_s[1]:.1f} s (later), {n_val} "
            f"in the recipe's {recipe_steps} steps: {val_total / total:.1%} of its estimated "
            f"{total / 60:.0f} min; start-up {startup:.1f} s ({startup / total:.1%}).\n"
        )
    return "\n".join(lines)


def compose_value(overrides: list[str], key: str, cfg) -> int:
    """The recipe's own value of ``key`` (the benchmark overrides it for its short run)."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module("semcolor.conf", version_base="1.3"):
        full = compose("train", overrides=overrides or ["+experiment=default_model"])
    return OmegaConf.select(full, key)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=C.TRAIN_CROP)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--precision", action="store_true",
                    help="compare fp32 / bf16-mixed / channels_last for the default_model net")
    ap.add_argument("--compile", action="store_true",
                    help="with --precision: add bf16-mixed + channels_last under torch.compile")
    ap.add_argument("--compile-backend", default="inductor",
                    help="torch.compile backend of --compile (eager/aot_eager: a quick check "
                    "of the path without code generation)")
    ap.add_argument("--warmup-steps", type=int, default=1,
                    help="with --precision: untimed steps per mode before timing")
    ap.add_argument("--json", default=None, metavar="FILE",
                    help="with --precision: also write the rows as JSON (default: none)")
    ap.add_argument("--curve", type=int, default=0,
                    help="with --precision: also train N steps each and print the loss curves")
    ap.add_argument("--e2e", action="store_true",
                    help="the real training loop vs the pure step (Hydra overrides after --)")
    ap.add_argument("--warmup", type=int, default=10, help="--e2e: steps before timing")
    ap.add_argument("--rounds", type=int, default=5,
                    help="--e2e: interleaved rounds of --steps loop steps and --steps pure steps")
    ap.add_argument("--markdown", default=None, metavar="FILE",
                    help="--e2e or --precision: also write the figures as Markdown")
    ap.add_argument("--update-readme", default=None, metavar="README",
                    help="--e2e: replace the README's bench_train_e2e block with them")
    ap.add_argument("--pure-batches", type=int, default=8,
                    help="--e2e: real batches recorded for the pure-step rows")
    argv = sys.argv[1:]
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.e2e:
        torch.set_num_threads(args.threads)
        e2e_rows(args, overrides)
        return
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if args.precision:
        precision_rows(args, dev, sync)
        return

    rows = {}
    configs = {
        "semcolor default": dict(encoder="resnet18", dist_stride=4, num_scene_classes=365,
                                 num_seg_classes=183),
        "semcolor default_model": dict(encoder="mobilenet_v2", dist_stride=4,
                                       decoder_channels=[128, 64, 48, 32, 16],
                                       num_scene_classes=200, num_seg_classes=11),
    }  # fmt: skip
    for name, kw in configs.items():
        net = SemColorNet(**kw).to(dev).train()
        loss_fn = MultiTaskLoss().to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        data = batch(args.batch, args.size, kw["num_scene_classes"], kw["num_seg_classes"], dev)

        def step(net=net, loss_fn=loss_fn, opt=opt, data=data):
            opt.zero_grad(set_to_none=True)
            loss_fn(net(normalize_l(data["L"])), data).total.backward()
            opt.step()

        rows[name] = time_steps(step, args.steps, sync)

    eccv = ECCV16Net().to(dev).train()
    opt = torch.optim.AdamW(eccv.parameters(), lr=1e-4)
    data = batch(args.batch, args.size, 1, 1, dev)
    weights = torch.ones(C.NUM_AB_BINS, device=dev)

    def eccv_step():
        opt.zero_grad(set_to_none=True)
        out = eccv(normalize_l(data["L"]))  # a ColorizerOutput (ab_logits only)
        soft_ce_loss(out.ab_logits, data["ab"], data["colorful"], weights).backward()
        opt.step()

    rows["ECCV16 (baseline)"] = time_steps(eccv_step, args.steps, sync)

    print_rows(
        f"training step, batch {args.batch} at {args.size}x{args.size}, {dev}, "
        f"{args.threads} threads, mean of {args.steps} steps after a warm-up",
        rows, "ECCV16 (baseline)", args.batch, "network",
    )  # fmt: skip


def print_rows(title: str, rows: dict, base: str, batch_size: int, what: str) -> None:
    """Seconds per step, images/s and the ratio against the named baseline row."""
    print(title)
    w = max(28, *(len(n) for n in rows))
    print(f"{what:>{w}} | {'s/step':>7} | {'images/s':>8} | vs {base}")
    for name, t in rows.items():
        print(f"{name:>{w}} | {t:7.3f} | {batch_size / t:8.2f} | {rows[base] / t:5.2f}x")


if __name__ == "__main__":
    main()
