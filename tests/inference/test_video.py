"""Video colorization: batched frames, resolution, frame rate and audio kept, stabilisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

av = pytest.importorskip("av", reason='video needs PyAV: pip install "semcolor[video]"')

from semcolor.inference.video import TemporalStabilizer, colorize_video  # noqa: E402


def _clip(path, frames=10, w=64, h=48, audio=True, fps=10):
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = c.add_stream("aac", rate=16000) if audio else None
        for t in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[...] = 60 + 3 * t
            img[:, w // 2 :] = 200
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            s = (np.sin(np.arange(16000 * frames // fps) * 2 * np.pi * 440 / 16000) * 0.3)
            s = s.astype(np.float32)
            for i in range(0, len(s), 1024):
                fr = av.AudioFrame.from_ndarray(s[None, i : i + 1024], format="fltp",
                                                layout="mono")  # fmt: skip
                fr.sample_rate = 16000
                for p in a.encode(fr):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return path


def test_video_keeps_size_rate_frames_and_audio(tmp_path):
    src = _clip(tmp_path / "in.mp4")
    r = colorize_video(src, tmp_path / "out" / "in.mp4", size=64, progress=False, device="cpu",
                       batch_size=4)  # fmt: skip
    assert r.frames == 10 and r.fps == 10 and r.audio and r.cuts == []
    with av.open(str(r.path)) as c:
        kinds = sorted(s.type for s in c.streams)
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert (v.codec_context.width, v.codec_context.height) == (64, 48)
        assert float(v.average_rate) == 10
    assert kinds == ["audio", "video"] and len(frames) == 10
    chroma = np.abs(frames[5].astype(int) - frames[5].mean(2, keepdims=True)).mean()
    assert chroma > 1.0  # colour, not gray
    assert not list((tmp_path / "out").glob(".*partial*"))


def test_hd_output_is_tagged_bt709_and_shows_the_computed_colours(tmp_path, monkeypatch):
    """Every colorized frame is RGB (200, 60, 40) (the pipeline's last step is stubbed); a
    player decoding the 1280x720 output with its tags honoured (an untagged HD stream: as
    BT.709, what players assume) must show that colour. Converted with BT.601 and left
    untagged, it showed (213, 73, 37)."""
    from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

    import semcolor.inference.video

    want = np.array([200, 60, 40])

    def constant(p, ab):
        h, w = p.L.shape[-2:]
        return np.broadcast_to(want.astype(np.uint8), (h, w, 3)).copy()

    monkeypatch.setattr(semcolor.inference.video, "_finish", constant)
    src = _clip(tmp_path / "hd.mp4", frames=2, w=1280, h=720, audio=False)
    r = colorize_video(src, tmp_path / "hd_out.mp4", size=32, progress=False, device="cpu")
    with av.open(str(r.path)) as c:
        cc = c.streams.video[0].codec_context
        tags = (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range)
        shown = []
        for f in c.decode(video=0):
            space = Colorspace.ITU709 if f.colorspace in (0, 2) else f.colorspace  # 2: unset
            rng = ColorRange.MPEG if f.color_range == ColorRange.UNSPECIFIED else f.color_range
            rgb = f.to_ndarray(format="rgb24", src_colorspace=space, src_color_range=rng)
            shown.append(rgb[200:520, 400:880].reshape(-1, 3).mean(0))
    assert tags == (Colorspace.ITU709, ColorPrimaries.BT709, ColorTrc.BT709, ColorRange.MPEG)
    assert len(shown) == 2
    for rgb in shown:
        assert np.abs(rgb - want).max() < 2.5, rgb.round(1)


def test_odd_sizes_and_no_audio(tmp_path):
    src = tmp_path / "odd.mkv"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=5)
        v.width, v.height, v.pix_fmt = 34, 26, "yuv444p"
        for _ in range(3):
            for p in v.encode(av.VideoFrame.from_ndarray(np.full((26, 34, 3), 99, np.uint8),
                                                         format="rgb24")):  # fmt: skip
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    r = colorize_video(src, tmp_path / "odd_out.mkv", size=64, progress=False, device="cpu")
    assert r.frames == 3 and not r.audio
    with av.open(str(r.path)) as c:
        assert (c.streams.video[0].codec_context.width, c.streams.video[0].height) == (34, 26)


def test_bad_paths(tmp_path):
    src = _clip(tmp_path / "in.mp4", frames=2, audio=False)
    with pytest.raises(ValueError, match="is the input"):
        colorize_video(src, src)
    with pytest.raises(FileNotFoundError):
        colorize_video(tmp_path / "missing.mp4", tmp_path / "o.mp4")


def test_stabilizer_smooths_still_shots_and_resets_at_cuts():
    g = torch.Generator().manual_seed(0)
    L = torch.full((1, 8, 8), 50.0)
    st, off = TemporalStabilizer(), TemporalStabilizer(alpha=0.0)
    raw, smooth = [], []
    for _ in range(20):
        ab = torch.randn(2, 8, 8, generator=g) * 5 + 10
        raw.append(off.step(L, ab))
        smooth.append(st.step(L, ab))
    d_raw = np.mean([float((raw[t] - raw[t - 1]).abs().mean()) for t in range(1, 20)])
    d_smooth = np.mean([float((smooth[t] - smooth[t - 1]).abs().mean()) for t in range(1, 20)])
    assert d_smooth < 0.5 * d_raw and off.weights == [0.0] * 20
    # a hard cut: a different picture (histogram and pixels change) -> weight 0
    L2 = torch.zeros(1, 8, 8)
    L2[..., :4] = 90.0
    ab2 = torch.full((2, 8, 8), -30.0)
    out = st.step(L2, ab2)
    assert st.cuts == [20] and torch.equal(out, ab2)
    # a slow brightness ramp is not a cut
    ramp = TemporalStabilizer()
    for t in range(10):
        ramp.step(torch.full((1, 8, 8), 40.0 + 2 * t), torch.zeros(2, 8, 8))
    assert ramp.cuts == []


def test_stabilizer_knobs_are_checked():
    for kw in ({"alpha": 1.0}, {"tau": 0}, {"cut_threshold": 0}):
        with pytest.raises(ValueError):
            TemporalStabilizer(**kw)


def test_cli_colorizes_a_video(tmp_path, capsys):
    from semcolor.cli.colorize import main

    src = _clip(tmp_path / "clip.webm".replace("webm", "mp4"), frames=3, audio=False)
    assert main([str(src), "-o", str(tmp_path / "out"), "--size", "64", "--device", "cpu"]) == 0
    assert (tmp_path / "out" / "clip.mp4").is_file()
    out = capsys.readouterr()
    # a video alone: no empty image progress bar, and it is counted as a video
    assert "colorizing: 0img" not in out.err and "0img" not in out.err
    assert f"colorized 1 video(s) into {tmp_path / 'out'}" in out.out
    assert main([str(src), "-o", str(tmp_path / "out2"), "--size", "64", "--device", "cpu",
                 "--no-stabilize"]) == 0  # fmt: skip
