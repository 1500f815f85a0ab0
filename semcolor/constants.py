"""Every number the method depends on, in one place, with its source.

References
----------
[Zhang16]  R. Zhang, P. Isola, A. A. Efros, "Colorful Image Colorization", ECCV 2016.
[NKD20]    T. T. Nguyen-Quynh, S.-H. Kim, N.-T. Do, "Image colorization using the global
           scene-context style and pixel-wise semantic segmentation", IEEE Access 2020.
[SCGAN20]  Y. Zhao, L.-M. Po, K.-W. Cheung, W.-Y. Yu, Y. Abbas Ur Rehman, "SCGAN: Saliency
           Map-guided Colorization with Generative Adversarial Network", IEEE TCSVT 2020,
           and its released training code (zhaoyuzhi/Semantic-Colorization-GAN, train/*.sh).
[Spynco]   T. Ratajczak, C. Crispim-Junior, B. Fervers, E. Faure, L. Tougne, "Pseudo-cyclic
           network for unsupervised colorization".
[BT601]    ITU-R Recommendation BT.601, luma Y' = 0.299 R' + 0.587 G' + 0.114 B'.
[Levin04]  A. Levin, D. Lischinski, Y. Weiss, "Colorization using optimization", SIGGRAPH 2004.
[skimage]  scikit-image ``skimage.color`` (sRGB, D65, 2-degree observer).
[FID17]    M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs trained by
           a two time-scale update rule converge to a local Nash equilibrium", NeurIPS 2017,
           as computed by pytorch-fid (mseitzer/pytorch-fid, ``inception.py``).
[Lite19]   M. Tan, Q. V. Le, "EfficientNet", ICML 2019; EfficientNet-Lite0 is its TF-Lite
           variant, trained and evaluated at 224x224.
[SqueezeNet16] F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally, K. Keutzer,
           "SqueezeNet", arXiv:1602.07360, 2016 (v1.1 layout); Lasagne's layer defaults.
"""

from __future__ import annotations

# --- CIE Lab / sRGB (as scikit-image implements them) ------------------------------
#: D65 reference white, 2-degree observer, XYZ scaled so that Y = 1 [skimage].
D65_WHITE: tuple[float, float, float] = (0.95047, 1.0, 1.08883)
#: Linear sRGB -> XYZ matrix [skimage ``xyz_from_rgb``].
XYZ_FROM_RGB: tuple[tuple[float, float, float], ...] = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: sRGB transfer-function knee (encoded side) and slope [IEC 61966-2-1, as skimage].
SRGB_KNEE_ENCODED: float = 0.04045
SRGB_KNEE_LINEAR: float = 0.0031308
SRGB_LINEAR_SLOPE: float = 12.92
SRGB_GAMMA: float = 2.4
SRGB_OFFSET: float = 0.055
#: CIE Lab cube-root threshold (6/29)^3 and linear slope as skimage writes them.
LAB_EPSILON: float = 0.008856
LAB_KAPPA_SLOPE: float = 7.787
LAB_OFFSET: float = 16.0 / 116.0
#: Knee of the Lab transfer function on the f side, delta = 6/29 [CIE 15:2004, CIELAB];
#: delta**3 = 0.0088565, written 0.008856 as LAB_EPSILON. (skimage's lab2rgb compares f against
#: the rounded 0.2068966; that matters only for f in (6/29, 0.2068966], where both branches of
#: f^-1 agree to 5e-8.)
LAB_F_KNEE: float = 6.0 / 29.0

# --- Network input / output normalisation [Zhang16 code; NKD20] --------------------
#: L in [0, 100] is fed to the network as (L - L_CENTER) / L_SCALE, i.e. in [-0.5, 0.5].
L_CENTER: float = 50.0
L_SCALE: float = 100.0
#: ab in Lab units is regressed as ab / AB_SCALE (tanh output scaled back by it).
AB_SCALE: float = 110.0

# --- Quantised ab space [Zhang16 section 3.1] ---------------------------------------
#: Number of in-gamut ab bins.
NUM_AB_BINS: int = 313
#: Grid spacing of the ab bins (Lab units).
AB_GRID_STEP: float = 10.0
#: Index of the bin centred at (a, b) = (0, 0).
AB_NEUTRAL_BIN: int = 120
#: Soft-encoding: number of nearest bins and Gaussian sigma (Lab units).
SOFT_ENCODE_K: int = 5
SOFT_ENCODE_SIGMA: float = 5.0
#: Class rebalancing: prior smoothing sigma (Lab units) and uniform mixing weight lambda.
REBALANCE_SIGMA: float = 5.0
REBALANCE_LAMBDA: float = 0.5
#: Mean-preserving tilt of the rebalanced head (ours, semcolor.color.rebalance): Newton
#: iterations at most (real priors converge in under 10) and the tolerance on the mean ab.
TILT_MAX_ITERATIONS: int = 100
TILT_TOLERANCE: float = 1e-9
#: Annealed-mean temperature used for decoding [Zhang16 section 3.2].
ANNEALED_MEAN_T: float = 0.38
#: Floor of the annealed mean's exponent, (z - max z) / T: exp(-87) = 1.6e-38 is still a
#: normal float32 (the smallest is 1.18e-38, IEEE 754). Below it exp gives denormals, which
#: x86 CPUs compute by microcode assists: at T = 0.1, 6-7% of a real model's terms were
#: denormal and decoding one 64x64 map took 38 ms instead of 5 (issue 22's latency). The
#: floor moves the result by under 313 * 1.6e-38 of the top bin's weight, i.e. not at all.
EXP_ARG_MIN: float = -87.0

# --- Auxiliary heads [NKD20] ----------------------------------------------------------
#: Places365 scene classes.
NUM_PLACES365_CLASSES: int = 365
#: Scene pseudo-labels keep the classifier's top-5 probabilities, renormalised to 1.
SCENE_PSEUDO_LABEL_TOPK: int = 5
#: Width of the scene-classification hidden layer (GAP -> FC 1024 -> ReLU -> FC).
SCENE_HIDDEN: int = 1024
#: COCO-Stuff labels: 0 = unlabeled, 1..182 things + stuff.
NUM_COCOSTUFF_CLASSES: int = 183
#: Value meaning "no label here" in segmentation maps handed to the losses.
IGNORE_INDEX: int = -1
#: Training crop size used by Nguyen-Quynh et al. (224) [NKD20].
TRAIN_CROP: int = 224

# --- Data ------------------------------------------------------------------------------
#: An image whose mean chroma sqrt(a^2 + b^2) is below this (Lab units) is "colourless"
#: and must not train the colour heads (grayscale JPEGs in ImageNet; a sepia scan's chroma is
#: well above it, so sepia is not colourless by this test).
COLOURLESS_CHROMA: float = 2.0
#: ``semcolor-prepare-photos``: photos whose shorter side is below this are left out. Training
#: resizes the shorter side to 256 (the evaluation scale); Caltech-101's smallest images
#: (down to ~80 px) would be upscaled 3x. 150 px keeps about 6,900 of its colour images
#: (issue 21's count).
PHOTO_MIN_SIDE: int = 150
#: ``semcolor-prepare-photos``: the part of Caltech-101 (which has no published split) held
#: out by path hash for choosing models and temperatures.
CALTECH_HOLDOUT_FRACTION: float = 0.1
#: ``semcolor-pack``: JPEG quality and chroma subsampling of the images it shrinks (those whose
#: shorter side exceeds the recipe's resize; the others are copied byte for byte). 4:4:4 keeps
#: the chroma at full resolution, since ab is what the colour heads learn; it cost 20% more
#: bytes than 4:2:0 at quality 90 (60 BSDS500, imagen1k and CamVid photos at 256 px: 29.7 KB
#: against 24.7 KB on average).
PACK_JPEG_QUALITY: int = 90
PACK_JPEG_SUBSAMPLING: str = "4:4:4"
#: ``semcolor-pack``: images kept of a member that the mix never draws (weight 0, e.g. Tiny
#: ImageNet unless data.aux_colour=true), so that its folder exists and the switch still works.
PACK_MIN_IMAGES_UNDRAWN: int = 32
#: Peak memory of ``semcolor.colorize`` per image pixel, besides the model: peak RSS growth
#: measured on 4, 12 and 24 MP JPEG files (19.0-19.3 bytes: decoded RGB 3, float32 L 4, float32
#: ab 8, the 8-bit result 3...; 24 MP peaks at 0.43 GB; an in-memory uint8 array: 15 bytes;
#: 16-bit and float files add their decoded size, 2 to 8 bytes).
COLORIZE_BYTES_PER_PIXEL: int = 19
#: Largest image, in pixels (width x height, per image), that semcolor decodes or colorizes:
#: 89,478,485 (e.g. 11585 x 7723), the threshold of PIL's own decompression-bomb guard
#: (PIL.Image.MAX_IMAGE_PIXELS, 2**30 // 12). Why: a 24 MP photo is a quarter of it; at
#: COLORIZE_BYTES_PER_PIXEL it costs about 1.6 GB, which a laptop has free; and semcolor
#: stays exactly as strict as before it had its own check (PIL's warning was turned into an
#: error), since a tiny file can legally decode to an image of the limit's size (the input
#: fuzz found a 706-byte TIFF that decodes to 120 M pixels of zeros). Larger photos (100 MP
#: medium format) need MAX_PIXELS_ENV. A file claiming more (a decompression bomb: a few
#: bytes of PNG can claim 4 G x 4 G) is rejected from its header, before any pixel is
#: allocated.
MAX_IMAGE_PIXELS: int = 89_478_485
#: Environment variable that replaces MAX_IMAGE_PIXELS (a positive integer, e.g.
#: ``SEMCOLOR_MAX_PIXELS=300000000``); read at every call, inherited by DataLoader workers.
MAX_PIXELS_ENV: str = "SEMCOLOR_MAX_PIXELS"

# --- Adversarial systems [SCGAN20; Spynco] ---------------------------------------------
#: Width of the global feature fused into the bottleneck (``global_fusion``; Iizuka et al.'s
#: fusion layer uses 256).
GLOBAL_FUSION_WIDTH: int = 256
#: SCGAN's loss weights (train/second.sh): L1 1, attention 0.5, perceptual 5, GAN 0.05,
#: gradient penalty 10; Adam lr 1e-4, betas (0.5, 0.999) for G and D.
SCGAN_W_L1: float = 1.0
SCGAN_W_ATTENTION: float = 0.5
SCGAN_W_PERCEPTUAL: float = 5.0
SCGAN_W_GAN: float = 0.05
WGAN_GP_WEIGHT: float = 10.0
#: ImageNet RGB mean / std the torchvision VGG16 expects (torchvision model docs).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: H_t of SpyncoGAN: the handcrafted colour -> gray translation, BT.601 luma weights [BT601].
BT601_LUMA: tuple[float, float, float] = (0.299, 0.587, 0.114)

# --- Colour hints [Levin04] ----------------------------------------------------------------
#: Pull of the hint correction towards 0 (the model's colour) outside the hints' regions: the
#: colour fades over roughly 1/sqrt(2 lambda) = 7 working pixels beyond a region. Chosen with
#: benchmarks/bench_hints.py --quality on imagen1k/val (15 photos, 30 hints): 1e-3 / 3e-3 /
#: 1e-2 moved 5.4% / 2.3% / 0.4% of the pixels across a strong edge (smoothed L > 15 from the
#: hint's) halfway to the hint, all filling >= 99.6% of the hinted region.
HINT_PRIOR_LAMBDA: float = 1e-2
#: Scale of the neighbour affinity exp(-dL^2 / (2 sigma^2)), in L units: a step of 5 sigma
#: (15 L units) passes e^-12 of a hint.
HINT_SIGMA_L: float = 3.0
#: Longest side of the working resolution the hint system is solved at.
HINT_WORK_SIDE: int = 384
#: A hint's region: the connected pixels whose (smoothed) L lies within this of the hint's;
#: they are pulled to the hint's colour instead of the model's, so a hint fills its region
#: (a point hint alone in Levin et al.'s system fades logarithmically: the "dot" it left,
#: 10% of a uniform region moved halfway to it in the benchmark above).
HINT_REGION_TOLERANCE_L: float = 6.0
#: How strongly a pixel of a hint's region is pulled to that hint's correction (relative to
#: its neighbours' affinity; HINT_PRIOR_LAMBDA is the same pull towards the model elsewhere).
HINT_REGION_PULL: float = 0.05

# --- Web app (semcolor-app) ----------------------------------------------------------------
# One Colorize press runs at a time (Gradio's queue, concurrency 1), so the app's memory is
# bounded by the largest image it accepts; benchmarks/bench_app_load.py measures it.
#: Largest upload, in bytes (Gradio refuses bigger files at upload; checked again per file).
APP_MAX_UPLOAD_BYTES: int = 50 * 1024**2
#: Largest image the app colorizes, in pixels (a 6000x4000 photo is 24 MP), checked from the
#: file's header before it is decoded.
APP_MAX_PIXELS: int = 25_000_000
#: Images per Colorize press; more are refused with a message.
APP_MAX_FILES: int = 20
#: Presses waiting in the queue beyond the running one; more are refused with a message.
APP_QUEUE_SIZE: int = 32
#: Longest side of what the page shows (slider, gallery, overlays, uncertainty); the
#: downloads are at full resolution.
APP_PREVIEW_SIDE: int = 1280
#: Result folders of presses older than this (seconds) are deleted at the next press.
APP_RESULT_MAX_AGE_S: int = 3600

# --- Uncertainty map ------------------------------------------------------------------------
#: Colour scale of uncertainty images (semcolor.inference.api.uncertainty_image): matplotlib's
#: viridis, perceptually uniform and monotonic in lightness (readable in gray too).
UNCERTAINTY_COLORMAP: str = "viridis"
#: Values marked on the legend of an uncertainty image (entropy / log 313).
UNCERTAINTY_TICKS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

# --- Video ------------------------------------------------------------------------------
#: Temporal stabilisation (semcolor.inference.video): the largest weight of the previous frame's
#: ab, the L-difference scale of the similarity weight (L units), the scene-cut threshold on
#: the L-histogram total variation, its bin count, and the H.264 quality of the output.
VIDEO_ALPHA: float = 0.8
VIDEO_TAU: float = 4.0
VIDEO_CUT_THRESHOLD: float = 0.3
VIDEO_CUT_BINS: int = 32
VIDEO_CRF: int = 18

# --- Realism: Fréchet distances [FID17; Lite19] ------------------------------------------
#: FID: Inception v3 pool features (2,048-d) of images resized bilinearly to 299x299
#: (``align_corners=False``, no antialiasing) and scaled from [0, 1] to [-1, 1] [FID17].
FID_INPUT_SIZE: int = 299
FID_FEATURE_DIM: int = 2048
#: The offline figure FD-Lite0: EfficientNet-Lite0 ImageNet pool features (1,280-d) of images
#: resized bilinearly with antialiasing (a full-resolution bench shrinks photos several-fold)
#: to 128x128, normalised as its weights expect. 128, not the network's own 224 [Lite19], to
#: keep the bench fast: the features of the ground truths and of every column (4 passes per
#: image with gray, dist and reg) cost 65% of the colorizer's own time at 224 and 20% at 128
#: (best of 8 on this 2-core CPU: 0.87 s and 0.27 s per 16 images against 5.4 s for
#: predict_ab), and the order of the distances of 32 imagen1k/val images (gray > reg > dist)
#: was the same at 224, 160 and 128.
FD_LITE0_INPUT_SIZE: int = 128
FD_LITE0_FEATURE_DIM: int = 1280

# --- Places365 SqueezeNet, the Lasagne file [SqueezeNet16] --------------------------------
#: (squeeze, expand) channels of fire2 ... fire9 of SqueezeNet 1.1 (Iandola et al. 2016), the
#: layout of ``squeezenet_places365.params``; read by :mod:`semcolor.weights` (the file) and
#: :mod:`semcolor.models.squeezenet_places365` (the network), so neither imports the other.
SQUEEZENET_FIRES: tuple[tuple[int, int], ...] = (
    (16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256),
)  # fmt: skip
#: Lasagne BatchNormLayer's default epsilon.
LASAGNE_BN_EPS: float = 1e-4

# --- The bench protocol (docs/metrics.md) --------------------------------------------------
# Here rather than in semcolor.data.bench_images so that `semcolor-bench --help` and
# `semcolor-calibrate --help` list them without importing torch.
#: Network input side of the bench: the papers' 256x256 protocol [Zhang16; NKD20].
BENCH_SIZE: int = 256
#: Datasets known to the bench -> (class name in semcolor.data.datasets, default split).
BENCH_DATASETS: dict[str, tuple[str, str | None]] = {
    "div2k": ("DIV2K", "valid"),
    "imagenet": ("ImageNet", "val"),
    "places365": ("Places365", "val"),
    "cocostuff": ("CocoStuff", "val"),
    "camvid": ("CamVid", "test"),
    "tinyimagenet": ("TinyImageNet", "val"),
    "folder": ("ImageFolder", None),
}

# --- LitData shards (semcolor-shard) ----------------------------------------------------------
#: Default chunk (shard) size: LitData's guidance is tens of MB per chunk for streaming.
SHARD_CHUNK_BYTES: str = "64MB"

# --- Photo folders (semcolor-prepare-photos) -------------------------------------------------
# Here rather than in semcolor.data.photo_folders so that --help lists them without torch.
#: Source layouts semcolor.data.photo_folders reads, with what each looks like (shown in
#: errors).
PHOTO_LAYOUTS: dict[str, str] = {
    "imagenette2": "SRC/train/<wnid>/*.JPEG and SRC/val/<wnid>/*.JPEG (wnid = n + 8 digits)",
    "caltech101": "SRC/<class>/image_NNNN.jpg (101 classes + BACKGROUND_Google; no split)",
}
