"""semcolor-calibrate: the temperature rule, and the CLI writing a calibrated copy."""

from __future__ import annotations

import pytest
import torch

from semcolor.cli.calibrate import main
from semcolor.evaluation import BenchError, choose_temperature, decoding_name
from semcolor.inference import load_model
from tests.data.data_helpers import colour_array, save_image
from tests.inference.test_inference import tiny_net, write_ckpt


def _row(t, psnr, cf, gt=40.0):
    return {"temperature": t, "psnr": psnr, "colorfulness": cf, "gt_colorfulness": gt}


def test_rule_matches_the_ground_truths_colourfulness_and_ignores_psnr():
    """PSNR rises with T; the old rule (best PSNR within +-20% colourfulness) took the dull
    edge of the band (0.6 here, 34/40 = 0.85). The rule takes the closest colourfulness."""
    rows = [_row(0.2, 20.0, 60.0), _row(0.38, 21.0, 41.0), _row(0.6, 21.5, 34.0),
            _row(1.0, 22.0, 20.0)]  # fmt: skip
    assert choose_temperature(rows)["temperature"] == 0.38  # 41/40
    # too dull everywhere: the most colourful; too colourful everywhere: the least
    dull = [_row(0.2, 20.0, 30.0), _row(1.0, 22.0, 20.0)]
    assert choose_temperature(dull)["temperature"] == 0.2
    vivid = [_row(0.2, 20.0, 70.0), _row(1.0, 22.0, 50.0)]
    assert choose_temperature(vivid)["temperature"] == 1.0
    with pytest.raises(BenchError):
        choose_temperature([])


def test_decoding_is_named_honestly():
    assert decoding_name("dist", 1.0) == "mean, T = 1"
    assert decoding_name("dist", 0.38) == "annealed mean, T = 0.38"
    assert decoding_name("reg") == "regression" and decoding_name("gray") == "ab = 0"


def test_cli_writes_a_calibrated_copy_and_never_overwrites_the_input(tmp_path, capsys):
    torch.set_num_threads(1)
    for i in range(3):
        save_image(tmp_path / "val" / f"{i}.png", colour_array(32, 32, seed=i))
    src = write_ckpt(tmp_path / "m.ckpt", tiny_net())
    before = src.read_bytes()
    out = tmp_path / "cal.ckpt"
    argv = ["--ckpt", str(src), "--root", str(tmp_path / "val"), "--out", str(out),
            "--temperatures", "0.2,1.0", "--size", "32", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "chosen" in printed and "gray PSNR" in printed and "b cast" in printed
    assert "| mean, T = 1" in printed and "| annealed mean, T = 0.2" in printed
    model = load_model(out)
    assert model.temperature in (0.2, 1.0)
    assert f"chosen: the {decoding_name('dist', model.temperature)}" in printed
    meta = torch.load(out, weights_only=True)["semcolor"]
    cal = meta["temperature_calibration"]
    assert cal["n_images"] == 3 and len(cal["rows"]) == 2 and "band" not in cal
    ratios = {r["temperature"]: abs(r["colorfulness_ratio"] - 1) for r in cal["rows"]}
    assert model.temperature == min(ratios, key=ratios.get)
    assert src.read_bytes() == before
    assert main(argv) == 2  # exists: needs --force
    assert main([*argv[:4], "--out", str(src), *argv[6:]]) == 2  # --out == --ckpt
    assert "never overwritten" in capsys.readouterr().err


def test_band_is_deprecated_and_ignored(tmp_path, capsys):
    torch.set_num_threads(1)
    for i in range(2):
        save_image(tmp_path / "val" / f"{i}.png", colour_array(32, 32, seed=i))
    src = write_ckpt(tmp_path / "m.ckpt", tiny_net())
    assert main(["--ckpt", str(src), "--root", str(tmp_path / "val"), "--out",
                 str(tmp_path / "o.ckpt"), "--temperatures", "0.5,1.0", "--size", "32",
                 "--band", "0.2", "--no-progress"]) == 0  # fmt: skip
    assert "--band is deprecated and ignored" in capsys.readouterr().err


@pytest.mark.parametrize("temps", ["0,1", "a,b"])
def test_cli_rejects_bad_temperatures(tmp_path, temps):
    src = write_ckpt(tmp_path / "m.ckpt", tiny_net())
    assert main(["--ckpt", str(src), "--root", str(tmp_path), "--out",
                 str(tmp_path / "o.ckpt"), "--temperatures", temps]) == 2  # fmt: skip


@pytest.mark.parametrize("precision", [None, "fp32"])
def test_calibration_scores_equal_the_bench_at_each_temperature(tmp_path, precision):
    """One forward pass, every temperature decoded from it: the same numbers as the bench
    (evaluate_images) at that temperature, with both left at their default precision (auto:
    bf16 on a CPU with native BF16) or both pinned."""
    from semcolor.evaluation import calibrate_temperature, evaluate_images, list_dataset_images
    from semcolor.inference import LoadedModel

    torch.set_num_threads(1)
    for i in range(4):
        save_image(tmp_path / f"{i}.png", colour_array(40, 40, seed=i))
    model = LoadedModel(tiny_net().eval())
    paths = list_dataset_images("folder", tmp_path)
    pin = {} if precision is None else {"precision": precision}
    _, rows = calibrate_temperature(paths, model, (0.2, 0.9), size=32, progress=False, **pin)
    for row in rows:
        ref = evaluate_images(paths, model, size=32, methods=["dist"], progress=False,
                              temperature=row["temperature"], frechet=False, **pin)  # fmt: skip
        for k in ("psnr", "ssim", "l2ab", "colorfulness", "cast_a", "cast_b"):
            assert row[k] == pytest.approx(ref.summary["dist"][k], rel=1e-6, abs=1e-9), k
        assert row["gray_psnr"] == pytest.approx(ref.summary["gray"]["psnr"], rel=1e-6)
        assert row["gt_colorfulness"] == pytest.approx(ref.gt["colorfulness"], rel=1e-6)


def test_solve_cast_tilt_zeroes_the_mean_cast():
    """The tilt found moves the decoded colours' mean onto the ground truths' (checked with
    the annealed mean computed independently), from a head biased toward +b."""
    import numpy as np

    from semcolor.color import AB_BINS, annealed_mean
    from semcolor.evaluation import solve_cast_tilt

    g = torch.Generator().manual_seed(0)
    bins = torch.tensor(np.array(AB_BINS), dtype=torch.float32)
    logits = [torch.randn(3, 313, 4, 5, generator=g) * 2 + (bins[:, 1] / 20)[None, :, None, None]
              for _ in range(2)]  # fmt: skip
    gt = torch.randn(6, 2, generator=g) * 3
    gamma, before = solve_cast_tilt(logits, gt, 0.38)
    assert np.abs(before).max() > 5  # the head leans toward +b
    off = (bins @ torch.tensor(gamma, dtype=torch.float32))[None, :, None, None]
    means = torch.cat([annealed_mean(z + off, 0.38).mean(dim=(2, 3)) for z in logits])
    assert (means.double() - gt.double()).mean(0).abs().max() < 0.01


def test_cli_tilts_the_head_once_and_the_bench_sees_no_cast(tmp_path, capsys):
    """The calibrated copy's distribution bias is the input's plus AB_BINS @ γ (recorded in
    semcolor.dist_tilt); the bench of that copy finds the calibration's figures (fp32), a
    mean cast of about 0 on the same split; calibrating the copy again keeps its tilt;
    --no-tilt leaves the head as it was."""
    import numpy as np

    from semcolor.color import AB_BINS
    from semcolor.evaluation import evaluate_images, list_dataset_images
    from semcolor.inference import CheckpointError, apply_tilt_to_checkpoint

    torch.set_num_threads(1)
    for i in range(3):
        save_image(tmp_path / "val" / f"{i}.png", colour_array(32, 32, seed=i))
    net = tiny_net()
    src = write_ckpt(tmp_path / "m.ckpt", net)
    key = "net.dist_head.conv.bias"
    bias0 = net.state_dict()["dist_head.conv.bias"].double()

    def run(ckpt, out, *extra):
        argv = ["--ckpt", str(ckpt), "--root", str(tmp_path / "val"), "--out", str(out),
                "--temperatures", "0.38", "--size", "32", "--no-progress", "--precision",
                "fp32", *extra]  # fmt: skip
        assert main(argv) == 0
        return torch.load(out, weights_only=True), capsys.readouterr().out

    tilted, printed = run(src, tmp_path / "t.ckpt")
    assert "untilted a, b" in printed and "zeroes its colour cast" in printed
    rec = tilted["semcolor"]["dist_tilt"]
    offsets = torch.tensor(np.array(AB_BINS) @ np.array(rec["gamma"]), dtype=torch.float64)
    assert torch.allclose(tilted["state_dict"][key].double() - bias0, offsets, atol=1e-5)
    assert rec["param"] == "dist_head.conv.bias" and max(map(abs, rec["untilted_cast"])) > 0.05
    row = tilted["semcolor"]["temperature_calibration"]["rows"][0]
    paths = list_dataset_images("folder", tmp_path / "val")
    res = evaluate_images(paths, load_model(tmp_path / "t.ckpt"), size=32, methods=["dist"],
                          progress=False, frechet=False, precision="fp32")  # fmt: skip
    ref = res.summary["dist"]
    for k in ("psnr", "colorfulness", "cast_a", "cast_b"):
        assert row[k] == pytest.approx(ref[k], rel=1e-4, abs=1e-4), k
    assert abs(ref["cast_a"]) < 0.2 and abs(ref["cast_b"]) < 0.2
    with pytest.raises(CheckpointError, match="already tilted"):
        apply_tilt_to_checkpoint(tilted, rec)
    again, printed = run(tmp_path / "t.ckpt", tmp_path / "t2.ckpt")
    assert "already tilted" in printed and torch.equal(again["state_dict"][key],
                                                       tilted["state_dict"][key])  # fmt: skip
    plain, _ = run(src, tmp_path / "n.ckpt", "--no-tilt")
    assert torch.equal(plain["state_dict"][key].double(), bias0)
    assert "dist_tilt" not in plain["semcolor"]
