"""The web app: its callbacks directly, and end to end in Debian's headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason='the app needs Gradio: pip install "semcolor[app]"')

from semcolor.inference import app as webapp  # noqa: E402
from tests.inference.test_inference import TINY_CLASS_NAMES, tiny_net, write_ckpt  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _photo(path: Path, size=(72, 56)) -> Path:
    import skimage.data

    rgb = Image.fromarray(skimage.data.astronaut()).resize(size, Image.BICUBIC)
    rgb.convert("L").save(path)
    return path


def _chroma(rgb: np.ndarray) -> float:
    from skimage.color import rgb2lab

    lab = rgb2lab(rgb[..., :3])
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def test_run_colorize_returns_full_resolution_outputs(tmp_path):
    a = _photo(tmp_path / "a.png", (72, 56))
    b = _photo(tmp_path / "b.png", (40, 64))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    r = webapp.run_colorize([str(a), str(bad), str(b)], size=64, out_dir=str(tmp_path / "out"))
    assert [Path(f).name for f in r.files] == ["a_colorized.png", "b_colorized.png"]
    assert Image.open(r.files[0]).size == (72, 56) and Image.open(r.files[1]).size == (40, 64)
    assert [n for n, _ in r.errors] == ["bad.png"]
    gray, colour = r.before_after
    assert gray.shape == colour.shape == (56, 72, 3)
    assert _chroma(colour) > 2.0 and _chroma(gray) < 0.5
    # the default model (the study's regsoft row) has the colour heads only: the uncertainty
    # picture, the map at full resolution then its legend; no scene, no segmentation
    assert r.uncertainty.shape[0] > 56 and r.uncertainty.shape[1] >= 72
    assert r.uncertainty.shape[2] == 3 and r.uncertainty.dtype == np.uint8
    assert r.scene is None and r.segmentation is None


def test_run_colorize_shows_scene_and_segments_by_name(tmp_path):
    named = write_ckpt(tmp_path / "named.ckpt", tiny_net(), class_names=TINY_CLASS_NAMES)
    a = _photo(tmp_path / "a.png", (72, 56))
    r = webapp.run_colorize([str(a)], ckpt=str(named), size=64, out_dir=str(tmp_path / "out"))
    assert len(r.scene) == 5 and abs(sum(r.scene.values()) - 1) < 1
    # by name (the checkpoint's class names), not "class k"
    assert set(r.scene) == set(TINY_CLASS_NAMES["scene"])
    overlay, masks = r.segmentation
    assert overlay.shape == (56, 72, 3) and masks and masks[0][0].shape == (56, 72)
    assert {label for _, label in masks} <= set(TINY_CLASS_NAMES["seg"])


def test_run_colorize_controls_are_checked(tmp_path):
    a = _photo(tmp_path / "a.png")
    with pytest.raises(ValueError, match="drop one or more images"):
        webapp.run_colorize([])
    with pytest.raises(ValueError, match="network size"):
        webapp.run_colorize([str(a)], size=8)
    with pytest.raises(ValueError, match="method"):
        webapp.run_colorize([str(a)], method="mode", size=64)
    with pytest.raises(FileNotFoundError):
        webapp.run_colorize([str(a)], ckpt=str(tmp_path / "nope.ckpt"), size=64)


def test_temperature_and_method_follow_the_model(tmp_path):
    d = webapp.model_defaults("")
    assert d["method"] == "dist" and set(d["methods"]) == {"dist", "reg"}
    from semcolor.inference import load_model

    assert d["temperature"] == load_model().temperature
    # an explicit temperature changes the colours; None means the model's own
    a = _photo(tmp_path / "a.png")
    own = webapp.run_colorize([str(a)], size=64, out_dir=str(tmp_path / "o1"))
    same = webapp.run_colorize([str(a)], temperature=d["temperature"], size=64,
                               out_dir=str(tmp_path / "o2"))  # fmt: skip
    other_t = 1.0 if d["temperature"] != 1.0 else 0.1  # any temperature but the model's
    other = webapp.run_colorize([str(a)], temperature=other_t, size=64,
                                out_dir=str(tmp_path / "o3"))  # fmt: skip
    assert np.array_equal(own.before_after[1], same.before_after[1])
    assert not np.array_equal(own.before_after[1], other.before_after[1])


def test_privacy_is_set_in_code():
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    app = webapp.build_app(device="cpu")
    assert app.analytics_enabled is False
    fonts = str(app.semcolor_theme._stylesheets) + str(getattr(app.semcolor_theme, "font", ""))
    assert "googleapis" not in fonts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="Debian's chromium and chromium-driver are not installed (apt install "
                    "chromium chromium-driver; .ci/run installs them)")  # fmt: skip
def test_end_to_end_in_headless_chromium(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    photo = _photo(tmp_path / "family.png", (160, 120))
    port = _free_port()
    app = webapp.launch(port=port, device="cpu", block=False)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,1300"):  # fmt: skip
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        url = f"http://127.0.0.1:{port}/"
        driver.get(url)
        wait = WebDriverWait(driver, 120)
        upload = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]")))
        upload.send_keys(str(photo))
        time.sleep(2)  # the upload finishes before the click
        wait.until(EC.element_to_be_clickable((By.ID, "colorize"))).click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "colorized 1 image"))
        link = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "#downloads a[href]")))  # fmt: skip
        href = link.get_attribute("href")
        with urllib.request.urlopen(href, timeout=30) as resp:
            data = resp.read()
        (tmp_path / "result.png").write_bytes(data)
        result = np.asarray(Image.open(tmp_path / "result.png").convert("RGB"))
        assert result.shape == (120, 160, 3)  # the input's size
        assert _chroma(result) > 2.0  # real colour, not gray
        shot = tmp_path / "app.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("SEMCOLOR_APP_SCREENSHOT"):  # README figure: see README "Web app"
            shutil.copy(shot, os.environ["SEMCOLOR_APP_SCREENSHOT"])
        # offline: the page asked for nothing outside this machine
        outside = set()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                u = msg["params"]["request"]["url"]
                if not u.startswith((url, "data:", "blob:", f"ws://127.0.0.1:{port}")):
                    outside.add(u)
        assert not outside, f"the page fetched outside localhost: {sorted(outside)[:5]}"
    finally:
        driver.quit()
        app.close()


def test_serving_says_where_and_never_suggests_a_share_link(capfd, monkeypatch):
    """Share links are off, so Gradio's banner ("set `share=True`...") must not appear; one
    line says where the app listens."""
    import gradio as gr

    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)  # return at once
    port = _free_port()
    app = webapp.launch(port=port, device="cpu", block=True)
    try:
        out = capfd.readouterr()
    finally:
        app.close()
    text = out.out + out.err
    assert "share=True" not in text and "public link" not in text
    assert f"semcolor-app: serving http://127.0.0.1:{port}/ (local, no share link" in out.out


def test_cli_rejects_a_bad_port(capsys):
    from semcolor.cli.app import main

    assert main(["--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err


def test_under_load_every_image_is_answered_and_the_server_keeps_going(tmp_path, monkeypatch):
    """A CI-sized run of benchmarks/bench_app_load.py against the app in this process: 3
    clients at once, one press each, good photos mixed with a truncated JPEG, a text file, a
    picture over the pixel limit and a file over the upload limit (limits lowered so the
    files stay small). Every good image comes back colorized, every bad file gets a message,
    the page keeps answering, and a last press works."""
    import importlib.util
    import sys

    from semcolor import constants as C

    spec = importlib.util.spec_from_file_location(
        "bench_app_load", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_app_load.py"
    )
    load = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, load)  # dataclasses look it up there
    spec.loader.exec_module(load)
    monkeypatch.setattr(C, "APP_MAX_PIXELS", 400_000)
    monkeypatch.setattr(C, "APP_MAX_UPLOAD_BYTES", 1_000_000)
    inputs = load.make_inputs(tmp_path / "in", large_mp=0.3, huge=True, max_pixels=400_000,
                              max_bytes=1_000_000)  # fmt: skip
    port = _free_port()
    app = webapp.launch(port=port, device="cpu", block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        outcomes, seconds, worst, failures = load.run_load(url, inputs, clients=3, rounds=1,
                                                           size=64)  # fmt: skip
        report, ok = load.summarise(outcomes, seconds, worst[0], failures)
        assert ok, report
        assert sum(o.good_ok for o in outcomes) > 0 and sum(o.bad_told for o in outcomes) > 0
        from gradio_client import Client

        final = load.Outcome()
        load.press(Client(url, verbose=False), [("coffee", *inputs["coffee"]),
                                                ("huge", *inputs["huge"])], final, 64)  # fmt: skip
        assert final.good_ok == 1 and final.bad_told == 1, final
    finally:
        app.close()
