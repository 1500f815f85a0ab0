"""ONNX export of the inference network (``semcolor-export``, :func:`export_onnx`).

The exported graph is the part of :func:`semcolor.inference.predict_ab` that runs at the
network's resolution, as plain tensors:

- input ``L``: (B,1,S,S) float32, **normalised** luminance ``(L - 50) / 100`` (L in [0,100],
  i.e. values in [-0.5, 0.5]); B is dynamic, S is fixed at export time.
- output ``ab_dist`` (if the model has the distribution head): (B,2,S,S) float32 ab in Lab
  units, the annealed mean at the export temperature (the model's own, calibrated, by
  default) upsampled bilinearly from the head's stride to S, exactly as
  ``predict_ab(..., methods=("dist",))``.
- output ``ab_reg`` (if the model has the regression head): (B,2,S,S) float32 ab in Lab units.

``outputs=("dist",)`` / ``("reg",)`` (``semcolor-export --outputs dist``) exports only that
output. The graph runs the network through :func:`semcolor.inference.run_network`, the
inference path's own call, asking for the heads of the exported outputs only: a dist-only
graph of a SemColorNet holds no regression/segmentation/scene head and, with
``dist_stride > 1``, no decoder block finer than the distribution head's stride.

A runtime then does what :mod:`semcolor.inference.api` does around it: L from the image, resized to
S x S, ab upsampled to the image's size and recombined with the full-resolution L.

Exporter: the TorchScript-based ``torch.onnx.export(dynamo=False)`` (the dynamo exporter needs
``onnxscript``), which handles this static-shape network. It needs the ``onnx`` package, and
the ONNX Runtime backend also ``onnxruntime``: both come with ``pip install "semcolor[onnx]"``
(:func:`require_onnx` checks for them before any work and names the extra).
"""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import semcolor
from semcolor import constants as C
from semcolor.color import ab_bins_tensor
from semcolor.inference.checkpoint import LoadedModel, load_model, resolve_temperature
from semcolor.inference.predict import canonical_method, heads_for, run_network

__all__ = [
    "ONNX_EXTRA", "OUTPUT_NAMES", "OnnxColorNet", "OrtNetwork", "export_onnx", "ort_network",
    "require_onnx",
]  # fmt: skip

#: How to install what ONNX export (``onnx``) and the ONNX Runtime backend (``onnxruntime``)
#: need: the package's ``onnx`` extra.
ONNX_EXTRA = 'pip install "semcolor[onnx]"'


def require_onnx(runtime: bool = False) -> None:
    """Check, before any work, that ONNX export can run: the ``onnx`` package (torch's
    exporter imports it) and, with ``runtime``, ``onnxruntime``.

    Raises:
        ImportError: a one-line message naming the missing package and the extra to install.
    """
    # lazy: optional extra (semcolor[onnx]); needed only here.
    missing = []
    try:
        import onnx  # noqa: F401  # lazy: optional extra (semcolor[onnx])
    except ImportError:
        missing.append("onnx")
    if runtime:
        try:
            import onnxruntime  # noqa: F401  # lazy: optional extra (semcolor[onnx])
        except ImportError:
            missing.append("onnxruntime")
    if missing:
        what = "backend='onnxruntime'" if runtime else "ONNX export"
        raise ImportError(
            f"{what} needs the {' and '.join(missing)} package{'s' if len(missing) > 1 else ''}"
            f": {ONNX_EXTRA}"
        )

#: Lowest ONNX opset we export to.
MIN_OPSET = 17


#: Exportable outputs: decoding method -> graph output name, in output order.
OUTPUT_NAMES: dict[str, str] = {"dist": "ab_dist", "reg": "ab_reg"}


class OnnxColorNet(nn.Module):
    """Wraps a SemColorNet: normalised L (B,1,S,S) -> (ab_dist, ab_reg) plain tensors.

    Args:
        net: the SemColorNet (its "dist" and/or "reg" heads are exported).
        size: S, the side of the square input.
        temperature: annealed-mean temperature baked into ``ab_dist``.
        outputs: the decoding methods to export, any of :data:`OUTPUT_NAMES` ("dist",
            "reg"; the deprecated "soft" means "dist"); None = every one the model has.
            Only the heads they read run (:func:`semcolor.inference.run_network`).
        upsample: True (default): every output is upsampled bilinearly to S x S. False:
            each comes at its head's own resolution, as ``predict_ab(out_size="network")``
            returns it (what the ONNX Runtime backend of ``Colorizer`` uses, so that the
            image's ab is upsampled once, from the head's resolution, as on the PyTorch path).

    Attributes:
        output_names: names of the returned tensors, in order ("ab_dist", "ab_reg").
        heads: the network heads the graph runs.

    Raises:
        ValueError: an unknown output name (the message lists the valid ones), an output
            whose head the model lacks, or a model with neither head.
    """

    def __init__(
        self,
        net: nn.Module,
        size: int = 256,
        temperature: float = C.ANNEALED_MEAN_T,
        outputs: Sequence[str] | None = None,
        upsample: bool = True,
    ):
        super().__init__()
        self.upsample = bool(upsample)

        heads = tuple(getattr(net, "heads", ()))
        self.net = net
        self.size = int(size)
        self.temperature = float(temperature)
        offered = [m for m in OUTPUT_NAMES if m in heads]
        if not offered:
            raise ValueError(
                f"the model has neither a 'dist' nor a 'reg' head (its heads: {list(heads)}); "
                "nothing to export"
            )
        if outputs is None:
            methods = offered
        else:
            if isinstance(outputs, str) or not outputs:
                raise ValueError(
                    f"outputs must be a non-empty list from {list(OUTPUT_NAMES)}, got {outputs!r}"
                )
            asked = {canonical_method(m) for m in outputs}  # unknown names: ValueError
            missing = sorted(asked - set(offered))
            if missing:
                raise ValueError(
                    f"this model has no head for output(s) {missing}; it offers {offered}"
                )
            methods = [m for m in OUTPUT_NAMES if m in asked]
        self.heads: tuple[str, ...] = heads_for(methods)
        self.output_names: tuple[str, ...] = tuple(OUTPUT_NAMES[m] for m in methods)
        # The expectation over the 313 bins as a 1x1 convolution: (2, 313, 1, 1).
        bins = ab_bins_tensor("cpu", torch.float32).t().contiguous()
        self.register_buffer("bins", bins[:, :, None, None].clone(), persistent=False)

    def forward(self, L: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """L: (B,1,S,S) float32 ``(L - 50) / 100`` -> the :attr:`output_names` tensors, each
        (B,2,S,S) float32 ab in Lab units."""
        out = run_network(self.net, L, self.heads)
        results = []
        if "ab_dist" in self.output_names:
            probs = torch.softmax(out.ab_logits.float() / self.temperature, dim=1)
            ab = F.conv2d(probs, self.bins)
            if self.upsample and (ab.shape[-1] != self.size or ab.shape[-2] != self.size):
                ab = F.interpolate(
                    ab, size=(self.size, self.size), mode="bilinear", align_corners=False
                )
            results.append(ab)
        if "ab_reg" in self.output_names:
            ab = out.ab_reg.float()
            if self.upsample and (ab.shape[-1] != self.size or ab.shape[-2] != self.size):
                ab = F.interpolate(
                    ab, size=(self.size, self.size), mode="bilinear", align_corners=False
                )
            results.append(ab)
        return tuple(results)


def export_onnx(
    model: Any,
    path: str | os.PathLike[str],
    size: int = 256,
    *,
    temperature: float | None = None,
    opset: int = MIN_OPSET,
    outputs: Sequence[str] | None = None,
    upsample: bool = True,
) -> Path:
    """Export the inference network to ONNX (see the module docstring for the graph's I/O).

    Args:
        model: None (the default model), a checkpoint path, a
            :class:`semcolor.inference.LoadedModel` or a SemColorNet. It is exported from a
            CPU copy; the caller's model is not moved.
        path: the .onnx file to write (parent folders are created).
        size: S, the fixed side of the input (the batch axis is dynamic).
        temperature: annealed-mean temperature baked into ``ab_dist`` (> 0); None = the
            model's own (its calibrated value; 0.38 for a bare module).
        opset: ONNX opset, >= 17.
        outputs: the outputs to export, by decoding method: ``("dist",)`` (``ab_dist``
            only), ``("reg",)`` (``ab_reg`` only) or both; None = every one the model has.
            The graph computes only the heads they read.
        upsample: True: outputs at S x S; False: at each head's own resolution (see
            :class:`OnnxColorNet`).

    Returns:
        The written path.

    Raises:
        ValueError: bad size / temperature / opset / outputs, or a model without ab heads.
        ImportError: the ``onnx`` package is missing (the message names the extra).
    """
    require_onnx()
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    if temperature is not None and not (isinstance(temperature, int | float) and temperature > 0):
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < MIN_OPSET:
        raise ValueError(f"opset must be an integer >= {MIN_OPSET}, got {opset!r}")
    if model is None or isinstance(model, str | os.PathLike):
        model = load_model(model, device="cpu")
    temperature = resolve_temperature(model, temperature)
    net = model.net if isinstance(model, LoadedModel) else model
    if not isinstance(net, nn.Module):
        raise TypeError(
            f"model must be None, a checkpoint path, a LoadedModel or a module, got {type(net)}"
        )
    if any(p.device.type != "cpu" for p in net.parameters()):
        net = copy.deepcopy(net).cpu()
    wrapper = OnnxColorNet(net, size=size, temperature=temperature, outputs=outputs,
                           upsample=upsample).eval()  # fmt: skip
    if not any(p.dtype == torch.float32 for p in net.parameters()):
        wrapper = copy.deepcopy(wrapper).float()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(wrapper.output_names)
    example = torch.zeros(1, 1, size, size)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation/tracer warnings
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["L"],
            output_names=names,
            dynamic_axes={n: {0: "batch"} for n in ["L", *names]},
            do_constant_folding=True,
        )
    _add_metadata(path, size, temperature, names)
    return path


def _add_metadata(path: Path, size: int, temperature: float, names: list[str]) -> None:
    """Record how to use the graph in the file's metadata."""
    import onnx  # lazy: optional extra (semcolor[onnx]), checked by require_onnx

    proto = onnx.load(str(path))
    meta = {
        "semcolor_version": semcolor.__version__,
        "input": f"L: (B,1,{size},{size}) float32, (L - 50) / 100 with L in [0,100]",
        "outputs": ", ".join(names) + ": (B,2,S,S) float32 ab in Lab units",
        "temperature": str(temperature),
        "size": str(size),
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


class OrtNetwork:
    """The network of one decoding method as an ONNX Runtime CPU session: the graph of
    :func:`export_onnx` (``outputs=(method,)``, ``upsample=False``), so that
    ``OrtNetwork(...)(x)`` is ``predict_ab(net, L, size=None, out_size="network",
    methods=(method,))[method]`` computed by ONNX Runtime.

    Args:
        net: the SemColorNet (exported from a CPU copy; not modified).
        size: S, the side of the square input the graph takes.
        method: "dist" or "reg".
        temperature: annealed-mean temperature baked into the graph ("dist").
        threads: ONNX Runtime intra-op threads; None = ``torch.get_num_threads()``.

    Raises:
        ImportError: onnx or onnxruntime is not installed (the message names the extra).
    """

    def __init__(
        self,
        net: nn.Module,
        size: int,
        method: str,
        temperature: float,
        threads: int | None = None,
    ) -> None:

        require_onnx(runtime=True)
        import onnxruntime as ort  # lazy: optional extra (semcolor[onnx])
        self.size, self.method, self.temperature = int(size), method, float(temperature)
        with tempfile.TemporaryDirectory() as tmp:
            path = export_onnx(net, Path(tmp) / "net.onnx", size, temperature=temperature,
                               outputs=(method,), upsample=False)  # fmt: skip
            graph = path.read_bytes()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
        self.output_name = OUTPUT_NAMES[method]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B,1,S,S) ``normalize_l`` values -> (B,2,h,w) float32 CPU ab at the head's
        resolution."""
        if tuple(x.shape[-2:]) != (self.size, self.size):
            raise ValueError(
                f"this graph takes (B,1,{self.size},{self.size}), got {tuple(x.shape)}"
            )
        feed = {"L": x.detach().float().cpu().contiguous().numpy()}
        (ab,) = self.session.run([self.output_name], feed)
        return torch.from_numpy(ab)


#: net -> {(size, method, temperature, threads): OrtNetwork}; weak, so a session lives as
#: long as its network.
_ORT_CACHE: Any = None


def ort_network(net: nn.Module, size: int, method: str, temperature: float) -> OrtNetwork:
    """The cached :class:`OrtNetwork` of ``net`` for (size, method, temperature, current
    torch thread count); built (exported once) on first use. A network whose weights change
    after that needs ``ort_network.cache_clear()``."""
    global _ORT_CACHE
    if _ORT_CACHE is None:
        _ORT_CACHE = weakref.WeakKeyDictionary()
    per_net = _ORT_CACHE.setdefault(net, {})
    key = (int(size), method, float(temperature), torch.get_num_threads())
    if key not in per_net:
        per_net[key] = OrtNetwork(net, size, method, temperature)
    return per_net[key]


def _ort_cache_clear() -> None:
    if _ORT_CACHE is not None:
        _ORT_CACHE.clear()


ort_network.cache_clear = _ort_cache_clear  # type: ignore[attr-defined]
