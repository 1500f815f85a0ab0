"""``semcolor-app``: a local web app (Gradio; ``pip install "semcolor[app]"``).

Drop one image or several, pick the checkpoint (the default model or a file), the decoding
method, the temperature (the model's own by default) and the network size, press Colorize:
a before/after slider of the first image, full-resolution downloads of all, the scene head's
top-5, the segmentation overlay and the uncertainty map (entropy of the 313-bin distribution),
where the model has those heads. Everything goes through :class:`semcolor.Colorizer`
(:meth:`~semcolor.Colorizer.analyze`), the one inference path.

Privacy and offline use, set here in code: Gradio's analytics are off (``GRADIO_ANALYTICS_
ENABLED=False`` and ``analytics_enabled=False``), no share link is ever made, the server
listens on 127.0.0.1 unless told otherwise, and Hugging Face telemetry is off. The installed
Gradio (>= 6) serves its own fonts and scripts; ``tests/inference/test_app.py`` checks in a
real browser that the page requests nothing outside localhost.

Under load: one press runs at a time (Gradio's queue, concurrency 1; at most
:data:`~semcolor.constants.APP_QUEUE_SIZE` waiting), uploads are limited to
:data:`~semcolor.constants.APP_MAX_UPLOAD_BYTES` and images to
:data:`~semcolor.constants.APP_MAX_PIXELS` (from the header, before decoding), presses to
:data:`~semcolor.constants.APP_MAX_FILES` files; the page shows previews, the downloads are
full resolution; old result folders are deleted. ``benchmarks/bench_app_load.py`` drives it
with several clients, good and bad files mixed, and reports time and peak memory.

The callbacks (:func:`run_colorize`, :func:`model_defaults`) are plain functions, tested
without a browser.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from semcolor import constants as C
from semcolor.color import l_to_gray_u8
from semcolor.data.io import too_large_reason
from semcolor.hardware import resolve_device
from semcolor.inference.api import Colorizer, _open_path, _prepare, uncertainty_image
from semcolor.inference.checkpoint import load_model

# Set in code, before Gradio is imported anywhere: no analytics or telemetry, whatever the
# environment says.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

#: Network sizes the app offers (a slider between these, step 32).
SIZE_RANGE: tuple[int, int] = (64, 1024)
#: Label of the default model in the checkpoint box.
DEFAULT_CKPT = ""


@dataclass
class AppResult:
    """What one press of Colorize produced.

    Attributes:
        before_after: (gray, colour) uint8 (H,W,3) of the first image, for the slider.
        files: full-resolution PNGs written, one per input, in input order.
        gallery: (uint8 colour image, caption) per input.
        scene: {class name: probability} of the first image's top-5, or None.
        segmentation: (uint8 colour image, [(bool (H,W) mask, label)]) of the first image,
            or None.
        uncertainty: uint8 RGB picture of the first image's uncertainty at full resolution
            in a colour scale, with its legend underneath
            (:func:`semcolor.inference.api.uncertainty_image`), or None.
        errors: (file name, reason) of inputs that could not be colorized.
    """

    before_after: tuple[np.ndarray, np.ndarray] | None = None
    files: list[str] = field(default_factory=list)
    gallery: list[tuple[np.ndarray, str]] = field(default_factory=list)
    scene: dict[str, float] | None = None
    segmentation: tuple[np.ndarray, list[tuple[np.ndarray, str]]] | None = None
    uncertainty: np.ndarray | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)


@functools.lru_cache(maxsize=4)
def _load(ckpt: str, device: str):
    return load_model(ckpt or None, device=device)


def model_defaults(ckpt: str = DEFAULT_CKPT, device: str = "cpu") -> dict[str, Any]:
    """The model's methods, default method and own temperature (what the controls show).

    Raises:
        FileNotFoundError, semcolor.inference.CheckpointError: an unusable checkpoint.
    """
    m = _load(ckpt.strip(), device)
    return {"methods": list(m.methods), "method": m.methods[0], "temperature": m.temperature}


def _gray_of(L) -> np.ndarray:
    g = l_to_gray_u8(L)
    return np.repeat(g[..., None], 3, axis=2)


def _label_masks(seg: np.ndarray, names: dict[int, str] | None,
                 most: int = 8) -> list[tuple[np.ndarray, str]]:  # fmt: skip
    """The ``most`` largest classes of a label map as (mask, class name) pairs."""
    ids, counts = np.unique(seg, return_counts=True)
    order = ids[np.argsort(-counts)][:most]
    names = names or {}
    return [(seg == k, names.get(int(k), f"class {int(k)}")) for k in order]


def _preview(image: np.ndarray, side: int = C.APP_PREVIEW_SIDE, nearest: bool = False):
    """An (H,W[,C]) array scaled down so that its longest side is at most ``side`` (what the
    page shows; the downloads stay at full resolution). ``nearest`` for label maps."""
    h, w = image.shape[:2]
    if max(h, w) <= side:
        return image
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if nearest:  # label values must stay labels
        ys = (np.arange(size[1]) * h // size[1]).clip(0, h - 1)
        xs = (np.arange(size[0]) * w // size[0]).clip(0, w - 1)
        return image[ys][:, xs]
    mode = "F" if image.dtype.kind == "f" else None
    im = Image.fromarray(image, mode=mode) if mode else Image.fromarray(image)
    return np.asarray(im.resize(size, Image.Resampling.BILINEAR if mode else
                                Image.Resampling.LANCZOS))  # fmt: skip


def check_upload(path: Path) -> str | None:
    """Why an uploaded file is refused before decoding (over
    :data:`~semcolor.constants.APP_MAX_UPLOAD_BYTES`, or over
    :data:`~semcolor.constants.APP_MAX_PIXELS` by its header), or None. A file that is no
    image passes here and fails to decode with its own message."""
    try:
        nbytes = path.stat().st_size
    except OSError as e:
        return f"cannot read the upload ({e.strerror or e})"
    if nbytes > C.APP_MAX_UPLOAD_BYTES:
        return (f"the file is {nbytes / 2**20:.1f} MB; this app takes files up to "
                f"{C.APP_MAX_UPLOAD_BYTES / 2**20:.0f} MB")  # fmt: skip
    try:
        with Image.open(path) as probe:  # the header only: nothing is decoded
            width, height = probe.size
    except Exception:  # noqa: BLE001 - not an image: the decoder says so in its own words
        return None
    reason = too_large_reason(width, height, limit=C.APP_MAX_PIXELS)
    return f"{reason} (this app's limit)" if reason else None


def _prune(root: Path, max_age_s: float) -> None:
    """Delete the result folders under ``root`` older than ``max_age_s``: a long-running app
    must not fill the disk."""
    now = time.time()
    for d in root.glob("press_*"):
        try:
            if now - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


#: Where presses write their results when no out_dir is given (created on first use).
_RESULTS_ROOT: list[Path] = []


def _results_dir() -> Path:
    if not _RESULTS_ROOT:
        _RESULTS_ROOT.append(Path(tempfile.mkdtemp(prefix="semcolor_app_")))
    root = _RESULTS_ROOT[0]
    _prune(root, C.APP_RESULT_MAX_AGE_S)
    return Path(tempfile.mkdtemp(prefix="press_", dir=root))


def run_colorize(
    files: list[str] | None,
    ckpt: str = DEFAULT_CKPT,
    method: str | None = None,
    temperature: float | None = None,
    size: int = 256,
    device: str = "cpu",
    out_dir: str | None = None,
) -> AppResult:
    """Colorize the dropped files (the Colorize button).

    Args:
        files: image paths (Gradio's uploads); None or empty -> ValueError. At most
            :data:`~semcolor.constants.APP_MAX_FILES`; each at most
            :data:`~semcolor.constants.APP_MAX_UPLOAD_BYTES` and
            :data:`~semcolor.constants.APP_MAX_PIXELS` (larger ones are listed in
            ``errors``, the others proceed).
        ckpt: checkpoint path, or "" for the shipped default model.
        method: "dist" or "reg"; None = the model's own first.
        temperature: annealed-mean temperature; None = the model's own.
        size: the network's input side.
        device: where the network runs.
        out_dir: where the full-resolution PNGs go (default: a fresh folder under the app's
            temporary folder; folders older than an hour are deleted at later presses).

    Returns:
        :class:`AppResult`; an unreadable or refused file is listed in ``errors``, the others
        proceed. What the page shows is scaled to at most
        :data:`~semcolor.constants.APP_PREVIEW_SIDE` pixels; the files are full resolution.

    Raises:
        ValueError: no files, too many, none usable, or a bad control value (the message
            names it).
    """
    if not files:
        raise ValueError("drop one or more images first")
    if len(files) > C.APP_MAX_FILES:
        raise ValueError(f"{len(files)} files dropped; this app colorizes up to "
                         f"{C.APP_MAX_FILES} per press")  # fmt: skip
    lo, hi = SIZE_RANGE
    if not lo <= int(size) <= hi:
        raise ValueError(f"network size must lie in [{lo}, {hi}], got {size}")
    model = _load(ckpt.strip(), device)
    colorizer = Colorizer(model, device="auto", size=int(size), method=method or None,
                          temperature=temperature)  # fmt: skip
    out = Path(out_dir) if out_dir else _results_dir()
    out.mkdir(parents=True, exist_ok=True)
    res = AppResult()
    for f in files:
        path = Path(f)
        refused = check_upload(path)
        if refused:
            res.errors.append((path.name, refused))
            continue
        try:
            prep = _prepare(_open_path(path))
            a = colorizer.analyze(prep)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop the others
            res.errors.append((path.name, str(getattr(e, "reason", None) or e)))
            continue
        colour = np.asarray(a.image.convert("RGB"))
        dst = out / f"{path.stem}_colorized.png"
        k = 2
        while dst.exists():
            dst = out / f"{path.stem}_colorized-{k}.png"
            k += 1
        Image.fromarray(colour).save(dst)
        res.files.append(str(dst))
        shown = _preview(colour)
        res.gallery.append((_preview(shown, side=C.APP_PREVIEW_SIDE // 4), path.name))
        if res.before_after is None:
            res.before_after = (_preview(_gray_of(prep.L[0])), shown)
            if a.scene_top5 is not None:
                res.scene = dict(a.scene_top5)
            if a.segmentation is not None:
                seg = _preview(a.segmentation, nearest=True)
                res.segmentation = (shown, _label_masks(seg, a.segment_names))
            if a.uncertainty is not None:
                res.uncertainty = np.asarray(uncertainty_image(_preview(a.uncertainty)))
        del prep, a, colour, shown  # one image's arrays at a time
    if not res.files:
        raise ValueError("no image could be read: " + "; ".join(f"{n}: {r}" for n, r in res.errors))
    return res


def build_app(ckpt: str | None = None, device: str = "auto"):
    """The Gradio Blocks app (not launched)."""
    import gradio as gr  # lazy: optional extra (semcolor[app])

    dev = str(resolve_device(device))
    start = model_defaults(ckpt or DEFAULT_CKPT, dev)
    # System font stacks: nothing is fetched from a font service.
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # fmt: skip
    with gr.Blocks(title="semcolor", analytics_enabled=False) as app:
        gr.Markdown("# semcolor\nColorize grayscale photos (everything runs on this machine).")
        with gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label="Images", file_count="multiple", file_types=["image"],
                                type="filepath")  # fmt: skip
                ckpt_box = gr.Textbox(label="Checkpoint (empty: the default model)",
                                      value=ckpt or DEFAULT_CKPT)  # fmt: skip
                method = gr.Radio(start["methods"], value=start["method"], label="Decoding")
                temperature = gr.Slider(0.05, 1.0, value=start["temperature"], step=0.01,
                                        label="Temperature (the model's own by default)")
                size = gr.Slider(*SIZE_RANGE, value=256, step=32, label="Network size")
                go = gr.Button("Colorize", variant="primary", elem_id="colorize")
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Before / after", type="numpy",
                                        elem_id="before_after")  # fmt: skip
                downloads = gr.File(label="Full-resolution downloads", file_count="multiple",
                                    elem_id="downloads")  # fmt: skip
                with gr.Row():
                    uncertainty = gr.Image(label="Uncertainty (entropy / log 313; scale below)",
                                           type="numpy", height=240)  # fmt: skip
                    seg = gr.AnnotatedImage(label="Segmentation", height=240)
                    scene = gr.Label(label="Scene (top-5)", num_top_classes=5)
                gallery = gr.Gallery(label="All results", elem_id="gallery", height=200,
                                     columns=6)  # fmt: skip

        def on_ckpt(path: str):
            try:
                d = model_defaults(path, dev)
            except (FileNotFoundError, ValueError) as e:
                raise gr.Error(str(e)) from None
            return gr.update(choices=d["methods"], value=d["method"]), d["temperature"]

        ckpt_box.submit(on_ckpt, ckpt_box, [method, temperature])

        def on_go(paths, ckpt_path, meth, temp, side):
            try:
                r = run_colorize(paths, ckpt_path, meth, temp, int(side), dev)
            except (FileNotFoundError, ValueError) as e:
                raise gr.Error(str(e)) from None
            note = f"colorized {len(r.files)} image(s)"
            if r.errors:
                note += "; failed: " + ", ".join(f"{n} ({why})" for n, why in r.errors)
            return (r.before_after, r.files, r.gallery, r.scene, r.uncertainty,
                    r.segmentation, note)  # fmt: skip

        go.click(on_go, [files, ckpt_box, method, temperature, size],
                 [slider, downloads, gallery, scene, uncertainty, seg, status],
                 api_name="colorize")  # fmt: skip
    app.semcolor_theme = theme  # Gradio 6 takes the theme at launch()
    return app


def launch(ckpt: str | None = None, port: int = 7860, host: str = "127.0.0.1",
           device: str = "auto", block: bool = True):  # fmt: skip
    """Build and serve the app on http://host:port (never a share link)."""
    app = build_app(ckpt, device)
    # One press at a time (bounded memory), a bounded queue (more presses are refused with
    # Gradio's "queue is full" message); uploads over the size limit are refused by Gradio.
    app.queue(default_concurrency_limit=1, max_size=C.APP_QUEUE_SIZE)
    # quiet: Gradio's own banner suggests `share=True`, which this app never sets; the one
    # line below says where it listens instead.
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False,
               show_error=True, prevent_thread_lock=True, quiet=True,
               max_file_size=C.APP_MAX_UPLOAD_BYTES, theme=app.semcolor_theme)  # fmt: skip
    if block:
        print(f"semcolor-app: serving {app.local_url} (local, no share link; Ctrl-C stops)",
              flush=True)  # fmt: skip
        app.block_thread()
    return app
