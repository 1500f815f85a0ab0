"""Networks (plain ``nn.Module``s, no Lightning): SemColorNet and its parts.

Quick start::

    from semcolor.color import normalize_l
    from semcolor.models import build_model

    model = build_model("resnet18", dist_stride=4)        # random init, nothing downloaded
    out = model(normalize_l(L))                            # L: (B,1,H,W) in [0, 100]
    out.ab_reg       # (B,2,H,W) ab in Lab units
    out.ab_logits    # (B,313,ceil(H/4),ceil(W/4)) logits over semcolor.color.AB_BINS
    out.scene_logits # (B,365)
    out.seg_logits   # (B,183,H,W)

Room 4 of the house (README, "Layout"): it imports :mod:`semcolor.color`, :mod:`semcolor.weights`
and :mod:`semcolor.constants`, and knows nothing of losses, data or training.
"""

from semcolor.models.baselines import ECCV16Net, IizukaNet
from semcolor.models.decoder import ConvBNReLU, DecoderBlock, UNetDecoder
from semcolor.models.encoders import (
    UNET_PLAIN,
    PlainUNetEncoder,
    available_encoders,
    create_encoder,
    load_encoder_weights,
    read_state_dict,
)
from semcolor.models.gan import PatchDiscriminator, PyramidColorizer, VGG16Features
from semcolor.models.heads import (
    DistributionHead,
    GlobalFusion,
    RegressionHead,
    SaliencyHead,
    SceneHead,
    SegmentationHead,
    dist_logit_bias,
)
from semcolor.models.semcolornet import (
    DEFAULT_DECODER_CHANNELS,
    DEFAULT_HEADS,
    DEFAULT_PLAIN_DECODER_CHANNELS,
    HEAD_NAMES,
    ColorizerOutput,
    SemColorNet,
    build_model,
)

#: Architectures a checkpoint may name (its ``semcolor.arch``): class name -> class.
ARCHITECTURES: dict[str, type] = {
    "SemColorNet": SemColorNet, "ECCV16Net": ECCV16Net, "IizukaNet": IizukaNet,
    "PyramidColorizer": PyramidColorizer,
}  # fmt: skip

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_DECODER_CHANNELS",
    "DEFAULT_HEADS",
    "DEFAULT_PLAIN_DECODER_CHANNELS",
    "HEAD_NAMES",
    "UNET_PLAIN",
    "ColorizerOutput",
    "ConvBNReLU",
    "DecoderBlock",
    "DistributionHead",
    "ECCV16Net",
    "GlobalFusion",
    "PatchDiscriminator",
    "PyramidColorizer",
    "SaliencyHead",
    "VGG16Features",
    "IizukaNet",
    "PlainUNetEncoder",
    "RegressionHead",
    "SceneHead",
    "SegmentationHead",
    "SemColorNet",
    "UNetDecoder",
    "available_encoders",
    "build_model",
    "create_encoder",
    "dist_logit_bias",
    "load_encoder_weights",
    "read_state_dict",
]
