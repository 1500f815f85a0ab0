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
Gradio (>= 6) serves its own fonts and scripts; ``tests/test_app.py`` checks in a real browser
that the page requests nothing outside localhost.

The callbacks (:func:`run_colorize`, :func:`model_defaults`) are plain functions, tested
without a browser.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
            (:func:`semcolor.api.uncertainty_image`), or None.
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
    from semcolor.inference import load_model

    return load_model(ckpt or None, device=device)


def model_defaults(ckpt: str = DEFAULT_CKPT, device: str = "cpu") -> dict[str, Any]:
    """The model's methods, default method and own temperature (what the controls show).

    Raises:
        FileNotFoundError, semcolor.inference.CheckpointError: an unusable checkpoint.
    """
    m = _load(ckpt.strip(), device)
    return {"methods": list(m.methods), "method": m.methods[0], "temperature": m.temperature}


def _gray_of(L) -> np.ndarray:
    from semcolor.color import l_to_gray_u8

    g = l_to_gray_u8(L)
    return np.repeat(g[..., None], 3, axis=2)


def _label_masks(seg: np.ndarray, names: dict[int, str] | None,
                 most: int = 8) -> list[tuple[np.ndarray, str]]:  # fmt: skip
    """The ``most`` largest classes of a label map as (mask, class name) pairs."""
    ids, counts = np.unique(seg, return_counts=True)
    order = ids[np.argsort(-counts)][:most]
    names = names or {}
    return [(seg == k, names.get(int(k), f"class {int(k)}")) for k in order]


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
        files: image paths (Gradio's uploads); None or empty -> ValueError.
        ckpt: checkpoint path, or "" for the shipped default model.
        method: "dist" or "reg"; None = the model's own first.
        temperature: annealed-mean temperature; None = the model's own.
        size: the network's input side.
        device: where the network runs.
        out_dir: where the full-resolution PNGs go (default: a fresh temporary folder).

    Returns:
        :class:`AppResult`; an unreadable file is listed in ``errors``, the others proceed.

    Raises:
        ValueError: no files, or a bad control value (the message names it).
    """
    from PIL import Image

    from semcolor.api import Colorizer, _open_path, _prepare

    if not files:
        raise ValueError("drop one or more images first")
    lo, hi = SIZE_RANGE
    if not lo <= int(size) <= hi:
        raise ValueError(f"network size must lie in [{lo}, {hi}], got {size}")
    model = _load(ckpt.strip(), device)
    colorizer = Colorizer(model, device="auto", size=int(size), method=method or None,
                          temperature=temperature)  # fmt: skip
    out = Path(out_dir or tempfile.mkdtemp(prefix="semcolor_app_"))
    out.mkdir(parents=True, exist_ok=True)
    res = AppResult()
    for f in files:
        path = Path(f)
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
        res.gallery.append((colour, path.name))
        if res.before_after is None:
            res.before_after = (_gray_of(prep.L[0]), colour)
            if a.scene_top5 is not None:
                res.scene = dict(a.scene_top5)
            if a.segmentation is not None:
                res.segmentation = (colour, _label_masks(a.segmentation, a.segment_names))
            if a.uncertainty is not None:
                res.uncertainty = np.asarray(a.uncertainty_image())
    if not res.files:
        raise ValueError("no image could be read: " + "; ".join(f"{n}: {r}" for n, r in res.errors))
    return res


def build_app(ckpt: str | None = None, device: str = "auto"):
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    from semcolor.inference import resolve_device

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
                 [slider, downloads, gallery, scene, uncertainty, seg, status])  # fmt: skip
    app.semcolor_theme = theme  # Gradio 6 takes the theme at launch()
    return app


def launch(ckpt: str | None = None, port: int = 7860, host: str = "127.0.0.1",
           device: str = "auto", block: bool = True):  # fmt: skip
    """Build and serve the app on http://host:port (never a share link)."""
    app = build_app(ckpt, device)
    app.queue()
    # quiet: Gradio's own banner suggests `share=True`, which this app never sets; the one
    # line below says where it listens instead.
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False,
               show_error=True, prevent_thread_lock=True, quiet=True,
               theme=app.semcolor_theme)  # fmt: skip
    if block:
        print(f"semcolor-app: serving {app.local_url} (local, no share link; Ctrl-C stops)",
              flush=True)  # fmt: skip
        app.block_thread()
    return app
