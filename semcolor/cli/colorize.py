"""``semcolor-colorize``: colorize image files, folders (recursively) and globs.

    semcolor-colorize photo.jpg scans/ "old/**/*.png" -o colorized/
    semcolor-colorize scans/ -o scans/ --suffix _color       # write beside the inputs
    semcolor-colorize --demo -o demo/                         # scikit-image's photos
    semcolor-colorize clip.mp4 -o out/                        # video (semcolor[video])
    semcolor-colorize photo.jpg -o out/ --hints hints.png --uncertainty
    semcolor-colorize photos/ -o out/ --scene                  # + scene and segments by name

Each output mirrors its input's path under OUTDIR (a file or glob match: its name; a folder's
files: their path relative to the folder) and keeps the input's format where PIL writes it
(JPEG at quality 95, PNG, TIFF, BMP, WebP); 16-bit and other formats become PNG. EXIF
orientation is applied. Inputs are never overwritten. Files that cannot be read or written
are skipped and listed at the end.

Videos (``.mp4 .mov .avi .mkv .webm .m4v``, given as files) are colorized frame by frame with
temporal stabilisation (``--no-stabilize`` turns it off; :mod:`semcolor.inference.video`), keeping
their resolution, frame rate and audio; they are written as H.264 (``.mp4`` for ``.avi`` and
``.webm`` inputs). ``--hints FILE`` (one image input): a hint image of the photo's size
(RGBA: alpha > 0 marks hints; RGB: non-black pixels) or a text file of ``x y colour`` lines
(colour ``#rrggbb`` or ``r,g,b``). ``--uncertainty`` also writes ``<output name>_uncertainty.png``:
the distribution head's entropy over log 313 at the photo's resolution, in a colour scale with
a legend of its values under it (:func:`semcolor.inference.api.uncertainty_image`).
``--scene`` prints each image's scene top-5 and largest segments by class name (the names
the checkpoint stores; ``class <k>`` where it has none).

Exit status: 0 all done; 1 some files failed; 2 bad arguments or an unusable model.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semcolor.cli._help import parser as help_parser

#: Extensions picked up when scanning folders (explicit files and glob matches are always
#: tried, whatever their extension).
FOLDER_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
#: Output formats kept from the input's extension; anything else is written as PNG.
_KEEP_FORMAT = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
}
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 95},
    "WEBP": {"quality": 95},
    "TIFF": {"compression": "tiff_lzw"},
}
_HIGH_DEPTH_MODES = ("I", "F")  # plus every I;16* mode
#: The photos of ``--demo`` (bundled with scikit-image).
DEMO_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket")
#: Height of the widest demo photo's row in the sheet; the other rows are as wide.
DEMO_ROW_HEIGHT = 256


@dataclass
class Job:
    src: Path  # the input file, as found
    rel: Path  # its output path relative to OUTDIR, before the suffix / extension change


class UsageError(Exception):
    """Bad command line (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    ap = help_parser(
        "semcolor-colorize",
        "Colorize grayscale (or colour) images with a semcolor model. Outputs keep the "
        "input's resolution and luminance; inputs are never overwritten.",
        "Exit status: 0 all done, 1 some files failed, 2 bad arguments or model.",
    )
    ap.add_argument("inputs", nargs="*", metavar="INPUT", help="image files, folders, globs")
    ap.add_argument("-o", "--outdir", type=Path, required=True, help="output folder (required)")
    ap.add_argument("--size", type=int, default=256, help="side of the square the network sees")
    ap.add_argument(
        "--temperature", type=float, default=None,
        help="annealed-mean temperature T of --method dist; lower = more vivid (default: the "
        "model's own, calibrated); ignored with --method reg",
    )
    ap.add_argument(
        "--method", choices=("dist", "reg"), default=None,
        help="how ab is read out: dist = annealed mean of the distribution head (Zhang et "
        "al.), reg = the regression head (default: dist when the model has that head, else "
        "reg, e.g. for SCGAN and SpyncoGAN generators)",
    )
    # Deprecated spelling of --method (``--head soft`` = ``--method dist``); hidden from help.
    ap.add_argument("--head", choices=("soft", "dist", "reg"), default=None,
                    help=argparse.SUPPRESS)  # fmt: skip
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")
    ap.add_argument(
        "--batch-size", type=int, default=None,
        help="images per step (default: the device's, 1 on CPU where it measures fastest, 8 on "
        "CUDA; on CPU the network sees at most semcolor.inference.CPU_NETWORK_BATCH at a time)",
    )
    ap.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), default="auto",
        help="auto (default: bf16 where the CPU/GPU computes it natively, else fp32), fp32, "
        "or bf16 autocast around the network (torch backend)",
    )
    ap.add_argument(
        "--backend", choices=("torch", "onnxruntime"), default="torch",
        help="torch (default, PyTorch eager) or onnxruntime (the exported graph, ONNX Runtime "
        'CPU execution provider; CPU only; needs pip install "semcolor[onnx]")',
    )
    ap.add_argument(
        "--ckpt", type=Path, default=None, help="checkpoint file (default: the packaged model)"
    )
    ap.add_argument(
        "--side-by-side",
        action="store_true",
        help="write gray | colour side by side instead of the colour image alone",
    )
    ap.add_argument(
        "--suffix",
        default="",
        help="appended to output file names (e.g. _color; default: none); needed to write "
        "into an input folder",
    )
    ap.add_argument(
        "--demo",
        action="store_true",
        help="colorize scikit-image's bundled photos and write a side-by-side sheet",
    )
    ap.add_argument(
        "--hints", type=Path, default=None,
        help="colour hints for a single image input: a hint image or a text file of 'x y "
        "colour' lines (default: none)",
    )
    ap.add_argument(
        "--uncertainty", action="store_true",
        help="also write <name>_uncertainty.png (entropy of the colour distribution; needs a "
        "model with the dist head)",
    )
    ap.add_argument(
        "--scene", action="store_true",
        help="also print each image's scene top-5 and its largest segments, by class name "
        "(models with the scene / segmentation heads)",
    )
    ap.add_argument(
        "--no-stabilize", action="store_true",
        help="videos: colorize each frame on its own (default: temporal stabilisation on)",
    )
    return ap


# --------------------------------------------------------------------------------------
# collecting inputs
# --------------------------------------------------------------------------------------
def _is_relative_to(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True


def _scan_folder(folder: Path, outdir: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), skipping OUTDIR if nested in it."""
    out_res = outdir.resolve()
    skip_outdir = out_res != folder.resolve() and _is_relative_to(out_res, folder.resolve())
    files = []
    for f in folder.rglob("*"):
        if f.suffix.lower() not in FOLDER_EXTENSIONS or not f.is_file():
            continue
        if skip_outdir and _is_relative_to(f.resolve(), out_res):
            continue
        files.append(f)
    return sorted(files)


def collect(
    inputs: list[str], outdir: Path, suffix: str = ""
) -> tuple[list[Job], list[tuple[str, str]]]:
    """Expand files, folders and globs into jobs; unmatched inputs become failures.

    Raises:
        UsageError: OUTDIR is an input folder and no suffix is given.
    """
    jobs: list[Job] = []
    failures: list[tuple[str, str]] = []
    seen: set[Path] = set()
    out_res = outdir.resolve()

    def add(src: Path, rel: Path) -> None:
        key = src.resolve()
        if key not in seen:
            seen.add(key)
            jobs.append(Job(src, rel))

    def add_folder(folder: Path) -> None:
        if folder.resolve() == out_res and not suffix:
            raise UsageError(
                f"OUTDIR {outdir} is the input folder {folder}: the outputs would overwrite "
                "the inputs; choose another OUTDIR or add --suffix (e.g. --suffix _color)"
            )
        files = _scan_folder(folder, outdir)
        if not files:
            failures.append((str(folder), "no image files in this folder"))
        for f in files:
            add(f, f.relative_to(folder))

    for item in inputs:
        p = Path(item)
        if p.is_dir():
            add_folder(p)
        elif p.is_file():
            add(p, Path(p.name))
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                failures.append((item, "the pattern matches nothing"))
            for m in map(Path, matches):
                if m.is_dir():
                    add_folder(m)
                elif m.is_file():
                    add(m, Path(m.name))
        else:
            failures.append((item, "no such file or folder"))
    return jobs, failures


# --------------------------------------------------------------------------------------
# writing outputs
# --------------------------------------------------------------------------------------
def output_format(src: Path, mode: str) -> tuple[str, str]:
    """(PIL format, extension) of the output for an input file and its decoded mode."""
    ext = src.suffix
    fmt = _KEEP_FORMAT.get(ext.lower())
    if fmt is None or mode in _HIGH_DEPTH_MODES or mode.startswith("I;16"):
        return "PNG", ".png"
    return fmt, ext


class Writer:
    """Saves results under OUTDIR, never onto an input, never twice onto the same path."""

    def __init__(self, outdir: Path, suffix: str, inputs: list[Path]):
        self.outdir = outdir
        self.suffix = suffix
        self.inputs = {p.resolve() for p in inputs}
        self.written: set[Path] = set()

    def target(self, job: Job, ext: str) -> Path:
        stem = job.rel.stem + self.suffix
        dst = self.outdir / job.rel.parent / (stem + ext)
        n = 2
        while dst.resolve() in self.written:  # two inputs with the same name
            dst = self.outdir / job.rel.parent / f"{stem}-{n}{ext}"
            n += 1
        return dst

    def save(self, image: Any, job: Job, mode: str) -> Path:
        fmt, ext = output_format(job.src, mode)
        if image.mode == "RGBA" and fmt == "JPEG":
            fmt, ext = "PNG", ".png"
        dst = self.target(job, ext)
        if dst.resolve() in self.inputs:
            raise OSError(
                f"refusing to overwrite the input file {dst}; use another OUTDIR or --suffix"
            )
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".part")
        try:
            image.save(tmp, format=fmt, **_SAVE_OPTIONS.get(fmt, {}))
            os.replace(tmp, dst)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.written.add(dst.resolve())
        return dst


def side_by_side(L: Any, colour: Any) -> Any:
    """gray (the luminance alone) | colour, as one PIL image of the colour image's mode."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import numpy as np
    from PIL import Image

    from semcolor.color import l_to_gray_u8

    rgb = np.asarray(colour)
    gray = np.repeat(l_to_gray_u8(L)[..., None], 3, axis=2)
    if rgb.shape[2] == 4:
        gray = np.concatenate([gray, rgb[..., 3:]], axis=2)
    return Image.fromarray(np.concatenate([gray, rgb], axis=1), mode=colour.mode)


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def _make_colorizer(args: argparse.Namespace):
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.api import Colorizer

    return Colorizer(
        args.ckpt,
        device=args.device,
        batch_size=args.batch_size,
        size=args.size,
        temperature=args.temperature,
        method=args.method,
        precision=args.precision,
        backend=args.backend,
    )


def run_files(
    args: argparse.Namespace, colorizer: Any, jobs: list[Job]
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Colorize the jobs in batches; returns (written files, (input, reason) failures)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from tqdm import tqdm

    from semcolor.inference.api import _open_path, _prepare

    writer = Writer(args.outdir, args.suffix, [j.src for j in jobs])
    failures: list[tuple[str, str]] = []
    written: list[Path] = []
    batch: list[tuple[Job, str, Any]] = []

    def flush() -> None:
        try:
            outs = colorizer._run([prep for _, _, prep in batch])
        except Exception as e:  # noqa: BLE001 - a failed batch fails its files, not the run
            failures.extend((str(j.src), f"{type(e).__name__}: {e}") for j, _, _ in batch)
            outs = []
        for (job, mode, prep), out in zip(batch, outs, strict=False):
            try:
                if args.side_by_side:
                    out = side_by_side(prep.L[0], out)
                written.append(writer.save(out, job, mode))
            except Exception as e:  # noqa: BLE001
                failures.append((str(job.src), f"cannot write the output ({e})"))
        bar.update(len(batch))
        batch.clear()

    with tqdm(total=len(jobs), unit="img", desc="colorizing", file=sys.stderr) as bar:
        for job in jobs:
            try:
                im = _open_path(job.src)
                mode = im.mode
                prep = _prepare(im)
                del im
            except Exception as e:  # noqa: BLE001 - bad files are skipped and listed
                failures.append((str(job.src), str(getattr(e, "reason", None) or e)))
                bar.update(1)
                continue
            batch.append((job, mode, prep))
            if len(batch) >= colorizer.batch_size:
                flush()
        if batch:
            flush()
    return written, failures


def read_hints(path: Path) -> Any:
    """A hint image (any PIL format) or a text file of ``x y colour`` lines -> what
    :func:`semcolor.colorize` takes as ``hints``."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import numpy as np
    from PIL import Image

    if not path.is_file():
        raise UsageError(f"--hints {path} does not exist")
    if path.suffix.lower() in (".txt", ".csv", ".tsv"):
        points = []
        for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):  # blank or comment line
                continue
            parts = line.replace(",", " ").split()
            try:
                if len(parts) == 3 and parts[2].startswith("#"):  # x y #rrggbb
                    points.append((float(parts[0]), float(parts[1]), parts[2]))
                elif len(parts) == 5:  # x y r g b (spaces or commas)
                    points.append((float(parts[0]), float(parts[1]),
                                   tuple(int(v) for v in parts[2:])))  # fmt: skip
                else:
                    raise ValueError
            except ValueError:
                raise UsageError(f"--hints {path}:{i}: expected 'x y #rrggbb' or 'x y r g b', "
                                 f"got {line!r}") from None  # fmt: skip
        return points
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGBA") if "A" in im.getbands() else im.convert("RGB"))
    except OSError as e:
        raise UsageError(
            f"--hints {path} is neither a text file nor a readable image ({e})"
        ) from None


def run_single(args: argparse.Namespace, colorizer: Any, jobs: list[Job],
               hints: Any) -> tuple[list[Path], list[tuple[str, str]]]:  # fmt: skip
    """Colorize image jobs one by one with hints and/or an uncertainty map.

    Raises:
        UsageError: hints that do not fit the image (e.g. a point outside it).
    """
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.color.hints import parse_hints
    from semcolor.inference.api import _open_path, _prepare, uncertainty_image

    writer = Writer(args.outdir, args.suffix, [j.src for j in jobs])
    written: list[Path] = []
    failures: list[tuple[str, str]] = []
    for job in jobs:
        try:
            im = _open_path(job.src)
            mode = im.mode
            prep = _prepare(im)
            del im
            if hints is not None:
                try:  # the hints against this image's size: a bad one is a usage error
                    parse_hints(hints, tuple(prep.L.shape[-2:]))
                except ValueError as e:
                    raise UsageError(f"--hints {args.hints}: {e}") from None
            res = colorizer.analyze(prep, hints=hints)
            out = res.image
            if args.side_by_side:
                out = side_by_side(prep.L[0], out)
            dst = writer.save(out, job, mode)
            written.append(dst)
            if args.uncertainty:
                if res.uncertainty is None:
                    raise ValueError("--uncertainty needs a model with the dist head")
                unc = dst.with_name(f"{dst.stem}_uncertainty.png")
                uncertainty_image(res.uncertainty).save(unc)
                print(f"{job.src}: uncertainty map {unc}", file=sys.stderr)
            if args.scene:
                print(describe(job.src, res))
        except UsageError:
            raise
        except Exception as e:  # noqa: BLE001 - a bad file fails alone
            failures.append((str(job.src), str(getattr(e, "reason", None) or e)))
    return written, failures


def describe(src: Path, res: Any, segments: int = 5) -> str:
    """``--scene``: the scene top-5 and the largest segments of one analysed image, by name."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import numpy as np

    lines = []
    if res.scene_top5 is not None:
        lines.append(f"{src}: scene: " + ", ".join(f"{n} {p:.2f}" for n, p in res.scene_top5))
    if res.segmentation is not None:
        ids, counts = np.unique(res.segmentation, return_counts=True)
        top = np.argsort(-counts)[:segments]
        share = counts / counts.sum()
        lines.append(f"{src}: segments: " + ", ".join(
            f"{res.segment_names[int(ids[i])]} {share[i]:.0%}" for i in top))  # fmt: skip
    return "\n".join(lines) or f"{src}: the model has no scene or segmentation head"


def run_videos(args: argparse.Namespace, colorizer: Any,
               jobs: list[Job]) -> tuple[list[Path], list[tuple[str, str]]]:  # fmt: skip
    """Colorize video jobs (semcolor.inference.video), each into OUTDIR as H.264."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.video import colorize_video

    written, failures = [], []
    inputs = {j.src.resolve() for j in jobs}
    for job in jobs:
        ext = job.src.suffix.lower() if job.src.suffix.lower() in (".mp4", ".mov", ".mkv",
                                                                    ".m4v") else ".mp4"
        dst = args.outdir / job.rel.parent / f"{job.rel.stem}{args.suffix}{ext}"
        if dst.resolve() in inputs:
            failures.append((str(job.src), f"refusing to overwrite the input {dst}"))
            continue
        try:
            r = colorize_video(job.src, dst, model=colorizer.model, size=colorizer.size,
                               method=colorizer.method, temperature=colorizer.temperature,
                               batch_size=colorizer.batch_size,
                               stabilize=not args.no_stabilize)  # fmt: skip
            written.append(r.path)
            print(f"{job.src}: {r.frames} frames at {r.fps:g} fps -> {r.path}"
                  + (f" ({len(r.cuts)} scene cuts)" if r.cuts else ""), file=sys.stderr)
        except Exception as e:  # noqa: BLE001 - a bad video fails alone
            failures.append((str(job.src), f"{type(e).__name__}: {e}"))
    return written, failures


def run_demo(args: argparse.Namespace, colorizer: Any) -> Path:
    """Colorize scikit-image's photos; write each and a sheet (gray | colour | original)."""
    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    import numpy as np
    from PIL import Image
    from skimage import data

    from semcolor.color import l_to_gray_u8
    from semcolor.inference.api import _prepare

    args.outdir.mkdir(parents=True, exist_ok=True)
    photos = [np.asarray(getattr(data, name)()) for name in DEMO_PHOTOS]
    colours = colorizer.colorize_batch(photos)
    # Every row spans the sheet's width (the widest photo's at DEMO_ROW_HEIGHT), its height
    # following the photo's shape: no white gaps beside the square photos.
    panel_w = max(round(p.shape[1] * DEMO_ROW_HEIGHT / p.shape[0]) for p in photos)
    rows = []
    for name, photo, colour in zip(DEMO_PHOTOS, photos, colours, strict=True):
        Image.fromarray(colour).save(args.outdir / f"{name}.png")
        gray = l_to_gray_u8(_prepare(photo).L[0])
        original = photo if photo.ndim == 3 else np.repeat(photo[..., None], 3, axis=2)
        panels = [np.repeat(gray[..., None], 3, axis=2), colour, original]
        h, w = photo.shape[:2]
        height = max(1, round(h * panel_w / w))
        row = [
            np.asarray(Image.fromarray(p).resize((panel_w, height), Image.Resampling.LANCZOS))
            for p in panels
        ]
        rows.append(np.concatenate(row, axis=1))
    sheet = np.concatenate(rows, axis=0)
    path = args.outdir / "demo_sheet.png"
    Image.fromarray(sheet).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.head is not None:  # the deprecated spelling
        print("semcolor-colorize: warning: --head is deprecated; use --method "
              f"{'dist' if args.head in ('soft', 'dist') else 'reg'}", file=sys.stderr)  # fmt: skip
        args.method = "dist" if args.head in ("soft", "dist") else "reg"
    if args.demo and args.inputs:
        ap.error("--demo takes no INPUT")
    if not args.demo and not args.inputs:
        ap.error("give INPUT files, folders or globs (or --demo)")
    if (args.batch_size is not None and args.batch_size < 1) or args.size < 1 or not (
        args.temperature is None or args.temperature > 0
    ):
        ap.error("--batch-size and --size must be >= 1 and --temperature > 0")
    if os.sep in args.suffix or (os.altsep and os.altsep in args.suffix):
        ap.error("--suffix must not contain a path separator")

    jobs: list[Job] = []
    failures: list[tuple[str, str]] = []
    if not args.demo:
        try:
            jobs, failures = collect(args.inputs, args.outdir, args.suffix)
        except UsageError as e:
            print(f"semcolor-colorize: error: {e}", file=sys.stderr)
            return 2
    try:
        colorizer = _make_colorizer(args)
    except ImportError as e:  # --backend onnxruntime without semcolor[onnx]: one line
        print(f"semcolor-colorize: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, TypeError) as e:  # CheckpointError is a ValueError
        hint = "; pass a checkpoint with --ckpt FILE" if args.ckpt is None else ""
        print(f"semcolor-colorize: error: cannot load the model: {e}{hint}", file=sys.stderr)
        return 2
    if args.demo:
        sheet = run_demo(args, colorizer)
        print(f"wrote {len(DEMO_PHOTOS)} colorized photos and {sheet} "
              "(columns: gray | colorized | original)")  # fmt: skip
        return 0

    # lazy: start-up cost, measured (benchmarks/bench_startup.py): --help loads no torch
    from semcolor.inference.video import is_video

    videos = [j for j in jobs if is_video(j.src)]
    images = [j for j in jobs if not is_video(j.src)]
    hints = None
    if args.hints is not None:
        if len(images) != 1 or videos:
            print("semcolor-colorize: error: --hints applies to a single image input, got "
                  f"{len(images)} images and {len(videos)} videos", file=sys.stderr)  # fmt: skip
            return 2
        try:
            hints = read_hints(args.hints)
        except UsageError as e:
            print(f"semcolor-colorize: error: {e}", file=sys.stderr)
            return 2
    written: list[Path] = []
    if not images:
        pass  # videos only: no image progress bar ("colorizing: 0img")
    elif hints is not None or args.uncertainty or args.scene:
        try:
            written, file_failures = run_single(args, colorizer, images, hints)
        except UsageError as e:  # a hint outside the image: a bad argument, as the others
            print(f"semcolor-colorize: error: {e}", file=sys.stderr)
            return 2
        failures += file_failures
    else:
        written, file_failures = run_files(args, colorizer, images)
        failures += file_failures
    v_written: list[Path] = []
    if videos:
        v_written, v_failures = run_videos(args, colorizer, videos)
        failures += v_failures
    done = [f"{len(written)} image(s)"] if images or not videos else []
    done += [f"{len(v_written)} video(s)"] if videos else []
    print(f"colorized {' and '.join(done)} into {args.outdir}")
    if failures:
        print(f"{len(failures)} input(s) failed:", file=sys.stderr)
        for name, reason in failures:
            print(f"  {name}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
