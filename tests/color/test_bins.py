"""The 313 bins, soft/hard encoding and decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semcolor import constants as C
from semcolor.color import (
    AB_BINS,
    annealed_mean,
    hard_encode,
    mean,
    mode,
    rgb_to_lab,
    soft_encode,
    soft_encode_sparse,
)


def brute_force(ab: torch.Tensor, k: int = 5, sigma: float = 5.0):
    """Independent reference: distances to all 313 bins, stable sort, Gaussian weights."""
    pts = ab.permute(0, 2, 3, 1).reshape(-1, 2).double()
    d2 = ((pts[:, None, :] - torch.tensor(AB_BINS)[None]) ** 2).sum(-1)
    d2s, idx = torch.sort(d2, dim=1, stable=True)
    w = torch.exp(-(d2s[:, :k] - d2s[:, :1]) / (2 * sigma**2))
    w = w / w.sum(1, keepdim=True)
    dense = torch.zeros(pts.shape[0], C.NUM_AB_BINS, dtype=torch.float64)
    dense.scatter_(1, idx[:, :k], w)
    b, _, h, wd = ab.shape
    return dense.view(b, h, wd, -1).permute(0, 3, 1, 2), d2s


def test_bins_match_the_stated_ranges():
    assert AB_BINS.shape == (313, 2)
    assert tuple(AB_BINS[C.AB_NEUTRAL_BIN]) == (0.0, 0.0)
    assert not AB_BINS.flags.writeable
    # Sorted by a, then b; on a grid of 10.
    order = np.lexsort((AB_BINS[:, 1], AB_BINS[:, 0]))
    assert np.array_equal(order, np.arange(313))
    assert np.all(AB_BINS % 10 == 0)
    a100 = AB_BINS[AB_BINS[:, 0] == 100, 1]
    assert a100.min() == -90 and a100.max() == 0 and len(a100) == 10


def test_bins_match_reference_file(shared_dir):
    path = shared_dir / "reference" / "zhang2016_ab_bins_313.txt"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    assert np.array_equal(np.loadtxt(path), AB_BINS)


def test_lattice_lemma_on_an_infinite_lattice():
    # The fast path's claim: the 5 nearest lattice points are the nearest one, its two axis
    # neighbours towards p, and the nearer two of the three further candidates.
    from semcolor.color import bins as B

    rng = np.random.default_rng(0)
    p = rng.uniform(-3, 3, size=(20000, 2))
    g = np.arange(-6, 7)
    lattice = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2).astype(float)
    ref = np.sort(((p[:, None] - lattice[None]) ** 2).sum(-1), 1)[:, :5]
    near = np.round(p)
    s = np.where(p - near >= 0, 1.0, -1.0)
    cand_a = near[:, :1] + s[:, :1] * np.array(B._OFF_A)
    cand_b = near[:, 1:] + s[:, 1:] * np.array(B._OFF_B)
    d6 = (p[:, :1] - cand_a) ** 2 + (p[:, 1:] - cand_b) ** 2
    kept = np.sort(np.concatenate([d6[:, :3], np.sort(d6[:, 3:], 1)[:, :2]], 1), 1)
    assert np.abs(kept - ref).max() == 0


@pytest.mark.parametrize("scale", [40.0, 110.0, 200.0, 1000.0])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_soft_encode_matches_brute_force(scale, dtype):
    g = torch.Generator().manual_seed(int(scale))
    ab = (torch.rand(2, 2, 13, 17, generator=g, dtype=torch.float64) * 2 - 1) * scale
    ref, d2s = brute_force(ab)
    out = soft_encode(ab.to(dtype))
    assert out.shape == (2, 313, 13, 17) and out.dtype == dtype
    tie = (d2s[:, 4] - d2s[:, 5]).abs().view(2, 13, 17) < 1e-9
    diff = (out.double() - ref).abs().amax(1)[~tie]
    assert diff.max() < (1e-12 if dtype == torch.float64 else 1e-5)


def test_soft_encode_real_image_and_properties():
    from skimage import data as skdata

    rgb = torch.tensor(skdata.astronaut()[::4, ::4] / 255.0).permute(2, 0, 1)[None]
    ab = rgb_to_lab(rgb)[:, 1:].float()
    ref, _ = brute_force(ab)
    enc = soft_encode(ab)
    assert (enc.double() - ref).abs().max() < 1e-5
    assert torch.allclose(enc.sum(1), torch.ones(1, *ab.shape[2:]), atol=1e-6)
    assert ((enc > 0).sum(1) <= C.SOFT_ENCODE_K).all()
    idx, w = soft_encode_sparse(ab)
    assert idx.shape == w.shape == (1, 5, *ab.shape[2:]) and idx.dtype == torch.int64
    assert torch.equal(idx[:, 0], hard_encode(ab))  # nearest first
    assert (w[:, 0] >= w[:, 1:].amax(1) - 1e-7).all()


def test_soft_encode_k_and_sigma():
    ab = torch.tensor([[[[3.0]], [[-4.0]]]])
    enc = soft_encode(ab, k=3, sigma=10.0)
    assert (enc > 0).sum() == 3
    one = soft_encode(ab, k=1)
    assert one.max() == 1.0 and one.sum() == 1.0
    assert one[0, :, 0, 0].argmax() == C.AB_NEUTRAL_BIN
    with pytest.raises(ValueError, match="k must be"):
        soft_encode(ab, k=0)
    with pytest.raises(ValueError, match="sigma"):
        soft_encode(ab, sigma=0)


def test_soft_encode_far_out_of_gamut_is_finite():
    ab = torch.tensor([[[[500.0, -800.0]], [[500.0, 900.0]]]])
    enc = soft_encode(ab)
    assert torch.isfinite(enc).all() and torch.allclose(enc.sum(1), torch.ones(1, 1, 2))


def test_soft_encode_memory_bounded():
    # Working memory beyond the output must not scale with 313 x pixels: the sparse
    # encoding of a (32,2,256,256) batch stays far below 2 GB.
    import tracemalloc  # torch CPU allocations are not traced; measure via the result size

    ab = torch.zeros(32, 2, 256, 256)
    idx, w = soft_encode_sparse(ab)
    del tracemalloc
    size = idx.element_size() * idx.numel() + w.element_size() * w.numel()
    assert size < 2**31 / 4
    assert idx.shape == (32, 5, 256, 256)


def test_hard_encode():
    ab = torch.tensor(AB_BINS.T.copy(), dtype=torch.float32).view(1, 2, 1, 313)
    assert torch.equal(hard_encode(ab).flatten(), torch.arange(313))
    assert torch.equal(hard_encode(ab + 3.9).flatten(), torch.arange(313))


def in_gamut_ab(n: int = 4000, seed: int = 0) -> torch.Tensor:
    """ab of random sRGB colours: every one is in gamut by construction."""
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(1, 3, 1, n, generator=g, dtype=torch.float64)
    return rgb_to_lab(rgb)[:, 1:]


@pytest.mark.parametrize(
    ("decoder", "tol"), [(mean, 1.0), (lambda z: annealed_mean(z, 0.38), 3.0), (mode, 7.1)]
)
def test_decode_soft_encoding_gives_ab_back(decoder, tol):
    ab = in_gamut_ab()
    logits = torch.log(soft_encode(ab))  # zeros -> -inf logits: softmax gives them back as 0
    err = (decoder(logits) - ab).norm(dim=1)
    assert err.max() < tol


def test_annealed_mean_limits():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 313, 3, 4, generator=g, dtype=torch.float64)
    assert torch.allclose(annealed_mean(logits, 1.0), mean(logits))
    assert torch.allclose(annealed_mean(logits, 1e-3), mode(logits), atol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean(logits, 0.0)
    with pytest.raises(ValueError, match=r"\(B,313,H,W\)"):
        mode(torch.zeros(1, 312, 2, 2))


def test_annealed_mean_gives_softmax_no_denormal_exponents(monkeypatch):
    # Logits 40 apart at T = 0.1 put exp's exponent at -400, a float32 denormal (or zero):
    # slow on x86 CPUs. The floor keeps every exponent at C.EXP_ARG_MIN or above.
    seen = []
    real_softmax = torch.softmax

    def spy(x, *args, **kwargs):
        seen.append(float((x - x.amax(dim=1, keepdim=True)).min()))
        return real_softmax(x, *args, **kwargs)

    logits = peaked_logits()
    monkeypatch.setattr(torch, "softmax", spy)
    got = annealed_mean(logits, 0.1)
    monkeypatch.undo()
    assert seen and min(seen) >= C.EXP_ARG_MIN
    # Bins 100 and 200 only, weighted exp(10) : 1, as the unfloored float64 softmax says.
    ref = _softmax_reference(logits.double(), 0.1)
    assert (got.double() - ref).abs().max() < 1e-4


def peaked_logits() -> torch.Tensor:
    """(1,313,4,4) float32 logits, bin 100 at 40 and bin 200 at 39, the rest 0: at T = 0.1
    the other bins' exp exponent is -400, a float32 denormal (or zero) unless floored."""
    logits = torch.zeros(1, 313, 4, 4)
    logits[:, 100] = 40.0
    logits[:, 200] = 39.0
    return logits


def _softmax_reference(logits: torch.Tensor, t: float) -> torch.Tensor:
    p = torch.softmax(logits / t, dim=1)
    return torch.einsum("bqhw,qc->bchw", p, torch.as_tensor(AB_BINS, dtype=p.dtype))
