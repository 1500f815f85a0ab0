"""Video colorization without flicker: :func:`colorize_video` (``pip install "semcolor[video]"``:
PyAV, which ships ffmpeg inside its wheel).

Frames are decoded, colorized in batches through the one inference path (the
:class:`semcolor.Colorizer` of :mod:`semcolor.inference.api`: L at full resolution, the network on a
``size`` x ``size`` copy, ab upsampled in one step), re-encoded at the input's resolution and
frame rate (H.264, converted to YUV with the BT.709 matrix, limited range, and tagged so:
players then show the colours that were computed), and the input's audio track is copied
unchanged.

Temporal stabilisation (:class:`TemporalStabilizer`, on by default) smooths the network's ab
across frames, before upsampling:

    ab_s(t) = w_t ab_s(t-1) + (1 - w_t) ab(t),   w_t = alpha * exp(-mean|L_t - L_{t-1}| / tau),

with L_t the frame's L at the network's resolution, so the smoothing is strong on a still
shot and fades when the picture changes (motion, lighting), and w_t = 0 at a scene cut: a
frame whose L histogram (32 bins over [0, 100]) differs from the previous one's by more than
``cut_threshold`` in total variation (half the L1 distance, in [0, 1]) **and** whose
mean |L_t - L_{t-1}| exceeds 2 tau starts afresh (the second test keeps a fade or a
brightness ramp, which moves histogram mass between bins but changes each pixel a little,
from counting as a cut). Knobs: ``alpha`` (0.8; 0 = off), ``tau`` (4 L units),
``cut_threshold`` (0.3).
Hand-written: no maintained library stabilises per-frame colorizations this way.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from semcolor import constants as C
from semcolor.inference.api import Colorizer, _finish, _prepare
from semcolor.inference.predict import upsample_ab

#: File name suffixes semcolor-colorize treats as video.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


def _require_av():
    try:
        import av  # lazy: optional extra (semcolor[video])
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            'video needs PyAV: pip install "semcolor[video]" (PyAV ships ffmpeg in its wheel)'
        ) from None
    return av


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a video suffix (:data:`VIDEO_EXTENSIONS`)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def l_histogram(L: torch.Tensor, bins: int = C.VIDEO_CUT_BINS) -> torch.Tensor:
    """(h,w) or (1,h,w) L in [0,100] -> (bins,) histogram normalised to sum 1."""
    h = torch.histc(L.float().flatten(), bins=bins, min=0.0, max=100.0)
    return h / h.sum().clamp_min(1.0)


class TemporalStabilizer:
    """The exponential moving average of the module docstring, frame by frame.

    Args:
        alpha: the largest weight of the past (0 switches smoothing off).
        tau: L-difference scale of the similarity weight, in L units.
        cut_threshold: histogram total-variation distance above which a frame is a cut.

    ``step(L, ab)``: L (1,h,w) and ab (2,h,w) at the network's resolution, float CPU ->
    the smoothed ab (2,h,w). ``cuts`` lists the frame indices detected as cuts.
    """

    def __init__(self, alpha: float = C.VIDEO_ALPHA, tau: float = C.VIDEO_TAU,
                 cut_threshold: float = C.VIDEO_CUT_THRESHOLD):  # fmt: skip
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must lie in [0, 1), got {alpha!r}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau!r}")
        if not 0.0 < cut_threshold <= 1.0:
            raise ValueError(f"cut_threshold must lie in (0, 1], got {cut_threshold!r}")
        self.alpha, self.tau, self.cut_threshold = float(alpha), float(tau), float(cut_threshold)
        self.cuts: list[int] = []
        self.weights: list[float] = []
        self._t = 0
        self._L: torch.Tensor | None = None
        self._hist: torch.Tensor | None = None
        self._ab: torch.Tensor | None = None

    def step(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        hist = l_histogram(L)
        w = 0.0
        if self._ab is not None:
            change = float((L - self._L).abs().mean())
            tv = 0.5 * float((hist - self._hist).abs().sum())
            if tv > self.cut_threshold and change > 2 * self.tau:
                self.cuts.append(self._t)
            else:
                w = self.alpha * math.exp(-change / self.tau)
        out = ab if w == 0.0 else w * self._ab + (1.0 - w) * ab
        self._L, self._hist, self._ab = L, hist, out
        self.weights.append(w)
        self._t += 1
        return out


@dataclass
class VideoResult:
    """What :func:`colorize_video` did: the output file, frames written, frame rate, the
    frames detected as scene cuts (stabilised runs), whether audio was copied, and the
    colorization speed in frames per second (decode + network + encode)."""

    path: Path
    frames: int
    fps: float
    cuts: list[int] = field(default_factory=list)
    audio: bool = False
    frames_per_second: float = 0.0


def _frames(container: Any, stream: Any) -> Iterator[np.ndarray]:
    for frame in container.decode(stream):
        yield frame.to_ndarray(format="rgb24")


def colorize_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model: Any = None,
    size: int = 256,
    method: str | None = None,
    temperature: float | None = None,
    device: str = "auto",
    batch_size: int = 8,
    stabilize: bool = True,
    alpha: float = C.VIDEO_ALPHA,
    tau: float = C.VIDEO_TAU,
    cut_threshold: float = C.VIDEO_CUT_THRESHOLD,
    progress: bool = True,
    crf: int = C.VIDEO_CRF,
) -> VideoResult:
    """Colorize a video file frame by frame, stabilised across frames.

    Args:
        src: the input video (any format ffmpeg reads); only its first video stream is
            colorized, its first audio stream (if any) is copied.
        dst: the output file (its suffix picks the container, e.g. ``.mp4``); never ``src``.
        model, size, method, temperature, device: as :func:`semcolor.colorize`.
        batch_size: frames per network call.
        stabilize: smooth ab across frames (:class:`TemporalStabilizer`); False = each frame
            on its own.
        alpha, tau, cut_threshold: the stabiliser's knobs.
        progress: a progress bar in frames (tqdm).
        crf: H.264 quality (lower = better; 18 is visually lossless for most content).

    Returns:
        :class:`VideoResult`.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ValueError: ``dst`` is ``src``, or ``src`` holds no video stream.
        ImportError: PyAV is not installed (``pip install "semcolor[video]"``).
    """
    av = _require_av()
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"video {src} does not exist")
    if dst.resolve() == src.resolve():
        raise ValueError(f"the output {dst} is the input; choose another file or folder")
    colorizer = Colorizer(model, device=device, batch_size=batch_size, size=size,
                          temperature=temperature, method=method)  # fmt: skip
    stab = TemporalStabilizer(alpha if stabilize else 0.0, tau, cut_threshold)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.partial{dst.suffix}")
    t0 = time.perf_counter()
    try:
        n, ain, rate = _transcode(av, src, tmp, colorizer, stab, progress, crf)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written output is left behind
        raise
    os.replace(tmp, dst)
    seconds = time.perf_counter() - t0
    return VideoResult(dst, n, float(rate), list(stab.cuts), ain is not None,
                       n / seconds if seconds > 0 else 0.0)  # fmt: skip


def _add_video_stream(av: Any, out: Any, w: int, h: int, rate: Any, crf: int) -> Any:
    """An H.264 stream of ``out`` tagged BT.709 (matrix, primaries, transfer) and limited
    ("TV", MPEG) range, which is what :func:`_video_frame` converts to.

    Why tag: an untagged stream leaves the matrix to the player, which assumes BT.709 for HD
    and BT.601 for SD; ffmpeg's default RGB -> YUV conversion is BT.601, so untagged HD
    output was shown with shifted colours (RGB (200, 60, 40) as (213, 73, 37)). BT.709 is
    the matrix of HD video and its primaries are sRGB's, the primaries our RGB is in.
    """
    from av.video.reformatter import (  # lazy: optional extra
        ColorPrimaries,
        ColorRange,
        Colorspace,
        ColorTrc,
    )

    vout = out.add_stream("libx264", rate=rate)
    vout.width, vout.height = w, h
    # 4:2:0 needs even sides; 4:4:4 keeps any size (and the full colour resolution).
    vout.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
    vout.options = {"crf": str(int(crf))}
    cc = vout.codec_context  # written into the H.264 VUI, so any container carries it
    cc.colorspace, cc.color_range = Colorspace.ITU709, ColorRange.MPEG
    cc.color_primaries, cc.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
    return vout


def _video_frame(av: Any, rgb: np.ndarray, pix_fmt: str) -> Any:
    """(H,W,3) uint8 RGB -> a ``pix_fmt`` frame converted with the BT.709 matrix to limited
    range and tagged so (the conversion the stream of :func:`_add_video_stream` declares)."""
    from av.video.reformatter import (  # lazy: optional extra
        ColorPrimaries,
        ColorRange,
        Colorspace,
        ColorTrc,
    )

    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=pix_fmt, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    frame.colorspace, frame.color_range = Colorspace.ITU709, ColorRange.MPEG
    frame.color_primaries, frame.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
    return frame


def _transcode(av: Any, src: Path, tmp: Path, colorizer: Any, stab: TemporalStabilizer,
               progress: bool, crf: int) -> tuple[int, Any, Any]:  # fmt: skip

    inp = av.open(str(src))
    try:
        if not inp.streams.video:
            raise ValueError(f"{src} holds no video stream")
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        rate = vin.average_rate or vin.guessed_rate or 25
        total = vin.frames or None
        out = av.open(str(tmp), mode="w")
        try:
            w, h = vin.codec_context.width, vin.codec_context.height
            vout = _add_video_stream(av, out, w, h, rate, crf)
            aout = out.add_stream_from_template(ain) if ain is not None else None
            bar = None
            if progress:
                bar = tqdm(total=total, unit="frame", desc=src.name)
            n = 0

            def flush(batch: list[np.ndarray]) -> None:
                nonlocal n
                prepared = [_prepare(f) for f in batch]
                small = colorizer._network_input(prepared)  # L as the network sees it
                ab_net = colorizer._predict_net(prepared, small)
                if tuple(small.shape[-2:]) != tuple(ab_net.shape[-2:]):
                    small = F.interpolate(small, size=ab_net.shape[-2:], mode="area")
                for i, p in enumerate(prepared):
                    ab = stab.step(small[i], ab_net[i])
                    full = upsample_ab(ab[None], tuple(p.L.shape[-2:]))
                    rgb = _finish(p, full.contiguous())
                    for packet in vout.encode(_video_frame(av, rgb, vout.pix_fmt)):
                        out.mux(packet)
                    n += 1
                if bar is not None:
                    bar.update(len(batch))

            batch: list[np.ndarray] = []
            for frame in _frames(inp, vin):
                batch.append(frame)
                if len(batch) >= colorizer.batch_size:
                    flush(batch)
                    batch = []
            if batch:
                flush(batch)
            for packet in vout.encode():
                out.mux(packet)
            if bar is not None:
                bar.close()
            if aout is not None:  # copy the audio track, packet by packet
                inp.seek(0)
                for packet in inp.demux(ain):
                    if packet.dts is None:
                        continue
                    packet.stream = aout
                    out.mux(packet)
        finally:
            out.close()
    finally:
        inp.close()
    return n, ain, rate
