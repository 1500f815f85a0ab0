"""The web app under load: several clients upload at once, good and bad files mixed.

Starts ``semcolor-app`` on localhost (its own process, CPU), then runs ``--clients`` client
threads for ``--rounds`` presses each (a bounded loop). Each press uploads 1-3 files drawn
from: small photos (PNG and JPEG), a large photo (``--large-mp`` megapixels), a picture over
the app's pixel limit (:data:`semcolor.constants.APP_MAX_PIXELS`, detected from its header), a
truncated JPEG, a text file named ``.png`` and, with ``--huge``, a file over the upload limit
(:data:`semcolor.constants.APP_MAX_UPLOAD_BYTES`). A probe thread asks the server for its
page every second throughout.

Checked: every good image comes back colorized (a full-resolution PNG of its size, with
colour); every bad one gets a message (in the status line, or the press's error when no file
of it could be read); the server keeps answering (the probe, and one more press at the end).
Printed: clients, presses, images (good / bad), seconds, presses per minute, press latency
(median, max), the probe's slowest answer, and the server's peak resident memory (VmHWM).

Run: ``python benchmarks/bench_app_load.py [--clients 6] [--rounds 3] [--large-mp 12]
[--huge]``. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

#: File kinds and whether the app must colorize them ("good") or refuse them with a message.
GOOD, BAD = "good", "bad"


@dataclass
class Outcome:
    """What one client saw."""

    presses: int = 0
    good_ok: int = 0  #: good images that came back colorized
    colorized: dict[str, int] = field(default_factory=dict)  #: name -> times colorized
    good_missing: list[str] = field(default_factory=list)  #: good images that did not
    bad_told: int = 0  #: bad files that got a message
    bad_silent: list[str] = field(default_factory=list)  #: bad files without a message
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  #: unexpected failures of a press


def make_inputs(folder: Path, large_mp: float, huge: bool, max_pixels: int,
                max_bytes: int) -> dict[str, tuple[Path, str]]:  # fmt: skip
    """name -> (file, GOOD or BAD), written into ``folder``."""
    from skimage import data as skdata

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, str]] = {}
    astro = Image.fromarray(skdata.astronaut())
    astro.convert("L").resize((320, 240)).save(folder / "small_gray.png")
    out["small_gray"] = (folder / "small_gray.png", GOOD)
    Image.fromarray(skdata.coffee()).convert("L").save(folder / "coffee.jpg", quality=90)
    out["coffee"] = (folder / "coffee.jpg", GOOD)
    Image.fromarray(skdata.chelsea()).save(folder / "chelsea_colour.png")  # colour in: its L
    out["chelsea_colour"] = (folder / "chelsea_colour.png", GOOD)
    if large_mp > 0:
        side = int((large_mp * 1e6 * 4 / 3) ** 0.5)
        astro.convert("L").resize((side, side * 3 // 4), Image.Resampling.BICUBIC).save(
            folder / "large.jpg", quality=90)  # fmt: skip
        out["large"] = (folder / "large.jpg", GOOD)
    w = int((max_pixels * 1.2) ** 0.5) + 1  # over the limit; flat, so the file is small
    Image.new("L", (w, w), 128).save(folder / "too_many_pixels.png")
    out["too_many_pixels"] = (folder / "too_many_pixels.png", BAD)
    data = (folder / "coffee.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    out["truncated"] = (folder / "truncated.jpg", BAD)
    (folder / "notes.png").write_text("this is not an image\n")
    out["notes"] = (folder / "notes.png", BAD)
    if huge:
        with open(folder / "huge.jpg", "wb") as f:
            f.write(os.urandom(max_bytes + 1024 * 1024))
        out["huge"] = (folder / "huge.jpg", BAD)
    return out


def _chroma(path: str) -> float:
    from skimage.color import rgb2lab

    rgb = np.asarray(Image.open(path).convert("RGB").reduce(4) if Image.open(path).width > 2000
                     else Image.open(path).convert("RGB"))  # fmt: skip
    lab = rgb2lab(rgb)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def press(client, files: list[tuple[str, Path, str]], outcome: Outcome, size: int = 256) -> None:
    """One Colorize press with ``files`` [(name, path, kind)] (temperature 1.0, the default
    model's own; network size ``size``); the outcome is added up. As in the browser, where a file
    over the upload limit is refused when it is dropped, such a file is answered at upload
    (Gradio's message names it) and the press goes on with the others."""
    from gradio_client import handle_file

    t0 = time.perf_counter()
    refused: dict[str, str] = {}
    text, downloads = "", []
    while True:
        rest = [(n, p, k) for n, p, k in files if n not in refused]
        if not rest:
            break
        try:
            result = client.predict([handle_file(str(p)) for _, p, _ in rest], "", "dist", 1.0,
                                    size, api_name="/colorize")  # fmt: skip
            text, downloads = str(result[-1]), [str(d) for d in (result[1] or [])]
        except Exception as e:  # noqa: BLE001 - gr.Error (nothing readable) or a refused upload
            text = f"{type(e).__name__}: {e}"
            named = [n for n, p, _ in rest if "maximum file size" in text and str(p) in text]
            if named:  # refused at upload: drop it, as the page does, and press again
                refused.update(dict.fromkeys(named, text))
                continue
        break
    outcome.latencies.append(time.perf_counter() - t0)
    outcome.presses += 1
    for name, path, kind in files:
        if name in refused:
            if kind == GOOD:
                outcome.good_missing.append(f"{name}: refused at upload: {refused[name][:200]}")
            else:
                outcome.bad_told += 1
            continue
        stem = path.stem
        got = [d for d in downloads if Path(d).name.startswith(f"{stem}_colorized")]
        if kind == GOOD:
            ok = False
            if got:
                with Image.open(path) as src, Image.open(got[0]) as res:
                    ok = res.size == src.size and _chroma(got[0]) > 2.0
            if ok:
                outcome.good_ok += 1
                outcome.colorized[name] = outcome.colorized.get(name, 0) + 1
            else:
                outcome.good_missing.append(f"{name}: {text[:200]}")
        elif path.name in text and not got:
            outcome.bad_told += 1
        else:
            outcome.bad_silent.append(f"{name}: {text[:200]}")


def client_loop(url: str, inputs: dict[str, tuple[Path, str]], rounds: int, seed: int,
                outcome: Outcome, size: int = 256) -> None:  # fmt: skip
    from gradio_client import Client

    rng = random.Random(seed)
    client = Client(url, verbose=False)
    names = sorted(inputs)
    for _ in range(rounds):
        chosen = rng.sample(names, rng.randint(1, min(3, len(names))))
        try:
            press(client, [(n, *inputs[n]) for n in chosen], outcome, size)
        except Exception as e:  # noqa: BLE001 - recorded, the loop goes on
            outcome.errors.append(f"{type(e).__name__}: {e}")


def probe_loop(url: str, stop: threading.Event, worst: list[float], failures: list[str]) -> None:
    """GET the page every second; the slowest answer and any failure are recorded."""
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                r.read(1024)
            worst[0] = max(worst[0], time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{type(e).__name__}: {e}")
        stop.wait(1.0)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_load(url: str, inputs: dict[str, tuple[Path, str]], clients: int, rounds: int,
             size: int = 256) -> tuple[list[Outcome], float, list[float], list[str]]:
    """Run the clients and the probe; (outcomes, seconds, [slowest probe], probe failures)."""
    outcomes = [Outcome() for _ in range(clients)]
    stop, worst, failures = threading.Event(), [0.0], []
    probe = threading.Thread(target=probe_loop, args=(url, stop, worst, failures), daemon=True)
    probe.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(url, inputs, rounds, i, o, size))
               for i, o in enumerate(outcomes)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    stop.set()
    probe.join()
    return outcomes, seconds, worst, failures


def summarise(outcomes: list[Outcome], seconds: float, worst_probe: float,
              probe_failures: list[str]) -> tuple[str, bool]:  # fmt: skip
    """(report text, every check passed)."""
    lat = sorted(x for o in outcomes for x in o.latencies)
    presses = sum(o.presses for o in outcomes)
    good = sum(o.good_ok for o in outcomes)
    told = sum(o.bad_told for o in outcomes)
    missing = [m for o in outcomes for m in o.good_missing]
    silent = [m for o in outcomes for m in o.bad_silent]
    errors = [m for o in outcomes for m in o.errors]
    lines = [
        f"clients {len(outcomes)}, presses {presses}, images {good + len(missing)} good / "
        f"{told + len(silent)} bad, {seconds:.1f} s ({60 * presses / seconds:.1f} presses/min)",
        f"press latency: median {lat[len(lat) // 2]:.1f} s, max {lat[-1]:.1f} s; slowest page "
        f"probe {worst_probe:.2f} s",
        f"good images colorized: {good}/{good + len(missing)}; bad files with a message: "
        f"{told}/{told + len(silent)}; unexpected press errors: {len(errors)}; probe "
        f"failures: {len(probe_failures)}",
        "colorized per file: " + ", ".join(
            f"{n} {sum(o.colorized.get(n, 0) for o in outcomes)}"
            for n in sorted({n for o in outcomes for n in o.colorized})),
    ]  # fmt: skip
    for m in (missing + silent + errors + probe_failures)[:10]:
        lines.append(f"  problem: {m}")
    ok = not (missing or silent or errors or probe_failures) and presses > 0
    return "\n".join(lines), ok


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    from semcolor import constants as C

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3, help="presses per client")
    ap.add_argument("--large-mp", type=float, default=12.0, help="the large photo's megapixels")
    ap.add_argument("--huge", action="store_true", help="also upload a file over the size limit")
    ap.add_argument("--work", type=Path, default=Path("bench/app_load"), help="input folder")
    args = ap.parse_args()
    inputs = make_inputs(args.work, args.large_mp, args.huge, C.APP_MAX_PIXELS,
                         C.APP_MAX_UPLOAD_BYTES)  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    server = subprocess.Popen([sys.executable, "-m", "semcolor.cli.app", "--port", str(port),
                               "--device", "cpu"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        t0 = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read(16)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - t0 > 180:
                    print(server.stdout.read() if server.stdout else "", file=sys.stderr)
                    print("the server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        print(f"server up in {time.perf_counter() - t0:.1f} s; load: "
              f"{os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} cores)")
        outcomes, seconds, worst, failures = run_load(url, inputs, args.clients, args.rounds)
        final = Outcome()  # the server still answers a press after the load
        from gradio_client import Client

        press(Client(url, verbose=False), [("small_gray", *inputs["small_gray"])], final)
        report, ok = summarise(outcomes, seconds, worst[0], failures)
        ok = ok and final.good_ok == 1
        print(report)
        print(f"after the load: a press {'answered' if final.good_ok else 'FAILED'} in "
              f"{final.latencies[0]:.1f} s; server peak resident memory "
              f"{peak_rss_mb(server.pid):.0f} MB; load {os.getloadavg()[0]:.1f}")
        print(f"limits: uploads {C.APP_MAX_UPLOAD_BYTES / 2**20:.0f} MB, images "
              f"{C.APP_MAX_PIXELS / 1e6:.0f} MP, {C.APP_MAX_FILES} files per press, queue "
              f"{C.APP_QUEUE_SIZE}, one press at a time")
        return 0 if ok else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
