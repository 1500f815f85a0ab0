"""Flicker of video colorization, stabilised (semcolor.inference.video's default) against per-frame,
on three clips made here with a known answer, with the shipped default model:

- ``static``: one photo repeated: the right colours do not change at all, so any frame-to-
  frame change of ab is flicker;
- ``pan``: a window sliding ``PAN_PX`` pixels per frame across a larger photo: the right ab
  moves with the content, so flicker is |ab_t(x) - ab_{t-1}(x + shift)| on the overlap;
- ``cut``: photo A, then photo B: flicker is measured within each shot, and the output must
  still change at the cut (the change there is reported against per-frame's).

Every frame gets fresh film grain (Gaussian, sigma ``GRAIN`` levels), as real footage has:
that frame-to-frame noise is what makes per-frame colorization flicker.

Flicker = mean |delta ab| (Lab units, both channels) between consecutive output frames, read
back from the encoded files. Also prints frames/s on this machine (decode + network +
encode). Run: ``python benchmarks/bench_video_flicker.py [--frames N] [--size S]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

#: Pixels per frame of the pan clip.
PAN_PX = 3
#: Standard deviation of the per-frame grain, in 8-bit levels.
GRAIN = 4.0


def _photo(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def make_clips(folder: Path, frames: int, side: int = 192) -> dict[str, tuple[Path, dict]]:
    """Write the three gray clips (H.264, 12 fps) and what is known about each."""
    import av
    from PIL import Image

    def gray(img: np.ndarray, w: int, h: int) -> np.ndarray:
        g = np.asarray(Image.fromarray(img).convert("L").resize((w, h), Image.BICUBIC))
        return np.repeat(g[..., None], 3, axis=2)

    a = gray(_photo("astronaut"), side, side)
    b = gray(_photo("coffee"), side, side)
    wide = gray(_photo("chelsea"), side + PAN_PX * frames, side)
    clips = {
        "static": ([a] * frames, {}),
        "pan": ([wide[:, PAN_PX * t : PAN_PX * t + side] for t in range(frames)],
                {"shift": PAN_PX}),
        "cut": ([a] * (frames // 2) + [b] * (frames - frames // 2), {"cut": frames // 2}),
    }  # fmt: skip
    rng = np.random.default_rng(0)

    def grain(img: np.ndarray) -> np.ndarray:
        noisy = img[..., 0] + rng.normal(0, GRAIN, img.shape[:2])
        g = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)

    out = {}
    for name, (imgs, info) in clips.items():
        imgs = [grain(i) for i in imgs]
        path = folder / f"{name}.mp4"
        with av.open(str(path), "w") as c:
            s = c.add_stream("libx264", rate=12)
            s.width, s.height, s.pix_fmt = side, side, "yuv444p"
            s.options = {"crf": "12"}
            for img in imgs:
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        out[name] = (path, info)
    return out


def read_ab(path: Path) -> np.ndarray:
    """(T,2,H,W) ab of every frame of a video file."""
    import av
    import torch

    from semcolor.color import rgb_to_lab

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    rgb = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    return rgb_to_lab(rgb)[:, 1:].numpy()


def flicker(ab: np.ndarray, shift: int = 0, skip: tuple[int, ...] = ()) -> float:
    """Mean |ab_t(x) - ab_{t-1}(x + shift)| over consecutive frames (frame t in skip left out)."""
    diffs = []
    for t in range(1, ab.shape[0]):
        if t in skip:
            continue
        cur, prev = ab[t], ab[t - 1]
        if shift:
            cur, prev = cur[..., : cur.shape[-1] - shift], prev[..., shift:]
        diffs.append(np.abs(cur - prev).mean())
    return float(np.mean(diffs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256, help="network input side")
    args = ap.parse_args()
    from semcolor.inference.video import colorize_video

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = make_clips(tmp, args.frames)
        print(f"{args.frames} frames per clip, 192x192, network {args.size}, default model, CPU")
        print("| clip | per-frame flicker | stabilised flicker | ratio | fps per-frame | "
              "fps stabilised |")
        print("|---|---:|---:|---:|---:|---:|")
        cut_change = {}
        for name, (path, info) in clips.items():
            res, fps = {}, {}
            for mode in ("per_frame", "stabilised"):
                out = tmp / f"{name}_{mode}.mp4"
                t0 = time.perf_counter()
                r = colorize_video(path, out, size=args.size, stabilize=mode == "stabilised",
                                   progress=False, device="cpu")  # fmt: skip
                fps[mode] = r.frames / (time.perf_counter() - t0)
                res[mode] = read_ab(out)
                if name == "cut" and mode == "stabilised":
                    cuts = r.cuts
            skip = (info["cut"],) if "cut" in info else ()
            f = {m: flicker(ab, info.get("shift", 0), skip) for m, ab in res.items()}
            print(f"| {name} | {f['per_frame']:.3f} | {f['stabilised']:.3f} | "
                  f"{f['stabilised'] / max(f['per_frame'], 1e-12):.2f} | "
                  f"{fps['per_frame']:.1f} | {fps['stabilised']:.1f} |")
            if "cut" in info:
                t = info["cut"]
                cut_change = {m: float(np.abs(ab[t] - ab[t - 1]).mean()) for m, ab in res.items()}
        t = clips["cut"][1]["cut"]
        print(f"\ncut at frame {t}: detected cuts {cuts}; change of ab across it "
              f"per-frame {cut_change['per_frame']:.3f}, stabilised {cut_change['stabilised']:.3f} "
              f"(ratio {cut_change['stabilised'] / max(cut_change['per_frame'], 1e-12):.2f})")


if __name__ == "__main__":
    main()
