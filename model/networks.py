"""The colorization networks, from keras.layers only so they run on any Keras backend.

All take L scaled to [-1, 1] ([size, size, 1]) and predict ab scaled to [-1, 1] (tanh); beta and
fusion can instead end in a classification head over quantized ab (model/quantized.py), whose
shipped form decodes the probabilities back to ab, so every model predicts ab:
- alpha:  Part 1, a small conv net that learns the colours of ONE photo (Wallner's alpha version).
- beta:   the Deep Koalarization encoder and decoder without any embedding (the baseline).
- beta with a pretrained encoder (encoder="efficientnet-lite0" / "-lite2"): an ImageNet-trained
          EfficientNet-Lite sees the grey photo as three equal sRGB channels (ImageNetGrey) and a U-Net
          decoder climbs back from 1/32, joining its features at every scale (below): the semantic
          prior (foliage, sky, water, skin) that training on a few thousand photos cannot learn.
- fusion: Part 2, Deep Koalarization (Baldassarre et al. 2017): encoder, fusion with an
          Inception-ResNet-v2 embedding of the whole image, decoder.
beta and fusion optionally (skips=True) join the encoder's features at 1/4 and 1/2 scale to the
decoder's at the same scale, as a U-Net does, so colour can follow the photo's edges; and optionally
(width=2, 3, 4) widen the decoder, every one of its convolutions that many times the filters
(DECODER_FILTERS), for more colour detail (width 2 with skips: +0.9 M parameters, about 1.35 times
the CPU time of a forward pass at 128 px). beta optionally (context=True) joins a learned vector of the
whole photo the way fusion joins Inception's (global average pool, dense, the fusion layer: "context"):

    L --encoder0,1 (1/2)--encoder2,3 (1/4)--encoder4..7 (1/8) [--fusion | --context]--decoder0--up
                   |                |                                                           |
                   |                +---------------- concat (1/4) <----------------------------+
                   |                                    decoder1,2--up
                   +---------------------------------- concat (1/2) <--+
                                                        decoder3--head

With a pretrained encoder (model/efficientnet.py), filters PRETRAINED_DECODER at width 1:

    L --ImageNetGrey--stem..block (1/2)--(1/4)--(1/8)--(1/16)--(1/32) --decoder32--up
                             |            |      |       +-- concat -- decoder16 <--+ --up
                             |            |      +---------- concat -- decoder8  <--+ --up
                             |            +----------------- concat -- decoder4  <--+ --up
                             +------------------------------ concat -- decoder2  <--+ --head (1/2)
"""
import keras
from keras import layers, ops
from typing import TYPE_CHECKING, Any

from basics.errors import ModelError

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    from model import efficientnet

from model.choices import ARCHITECTURES, ENCODER_TRAINING, MAX_WIDTH, SCRATCH

# Deep Koalarization's encoder: (filters, stride) of its eight 3x3 convolutions.
ENCODER = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 1), (256, 1))
FUSION_FILTERS = 256
CONTEXT_UNITS = 128  # beta's context vector: +0.13 M parameters (0.5 MB) with the fusion layer that joins it
DECODER_FILTERS = (128, 64, 64, 32)  # decoder0..3 at width 1
# A pretrained encoder's decoder: (scale, filters at width 1), from the deepest join to the head's scale.
PRETRAINED_DECODER = ((32, 256), (16, 192), (8, 128), (4, 64), (2, 32))
# The hint branch's (scale, filters): one stride-2 3x3 convolution to each of the decoder's scales.
HINT_FILTERS = ((2, 16), (4, 32), (8, 48), (16, 64), (32, 96))


def _conv(x, filters, stride=1, name=None, activation="relu"):
    return layers.Conv2D(filters, 3, strides=stride, padding="same", activation=activation, name=name)(x)


def build_alpha(size: int = 224) -> keras.Model:
    """Wallner's alpha: three stride-2 convolutions down, three upsamplings back, tanh ab."""
    l_in = keras.Input((size, size, 1), name="l")
    x = l_in
    for i, (filters, stride) in enumerate(((16, 2), (32, 1), (32, 2), (64, 1), (64, 2), (128, 1))):
        x = _conv(x, filters, stride, f"down{i}")
    for i, filters in enumerate((64, 32, 16)):
        x = layers.UpSampling2D(2, name=f"up{i}")(x)
        x = _conv(x, filters, name=f"upconv{i}")
    ab = _conv(x, 2, name="ab", activation="tanh")
    return keras.Model(l_in, ab, name="alpha")


def _encoder(l_in):
    """L -> (features [size/8, size/8, 256], {scale: the encoder's last features at 1/2 and 1/4})."""
    x, at = l_in, {}
    for i, (filters, stride) in enumerate(ENCODER):
        x = _conv(x, filters, stride, f"encoder{i}")
        if i in (1, 3):
            at[2 if i == 1 else 4] = x
    return x, at


def _decoder(x, head="regression", skips=None, width=1):
    """Regression: ab (tanh) at full size. Classification: bin probabilities at half size.
    skips: the encoder's {scale: features}, joined to the decoder's at 1/4 and 1/2 scale.
    width: the decoder's filters, as a multiple of DECODER_FILTERS."""
    f0, f1, f2, f3 = (n * width for n in DECODER_FILTERS)
    x = _conv(x, f0, name="decoder0")
    x = layers.UpSampling2D(2, name="decoder_up0")(x)
    if skips:
        x = layers.Concatenate(name="skip4")([x, skips[4]])
    x = _conv(x, f1, name="decoder1")
    x = _conv(x, f2, name="decoder2")
    x = layers.UpSampling2D(2, name="decoder_up1")(x)
    if skips:
        x = layers.Concatenate(name="skip2")([x, skips[2]])
    x = _conv(x, f3, name="decoder3")
    if head == "classification":
        from model import quantized
        return layers.Conv2D(quantized.NUM_BINS, 1, activation="softmax", name="ab_bins")(x)
    x = _conv(x, 2, name="decoder_ab", activation="tanh")
    return layers.UpSampling2D(2, name="ab")(x)


@keras.saving.register_keras_serializable(package="colorize")
class ImageNetGrey(layers.Layer):
    """L scaled to [-1, 1] [..., 1] -> the grey sRGB photo ImageNet networks expect, three equal channels
    normalised with ImageNet's mean and std: L -> Y (CIE) -> sRGB gamma, as basics.lab converts."""

    def call(self, l_scaled: Any) -> Any:
        from model.efficientnet import IMAGENET_MEAN, IMAGENET_STD
        fy = ((l_scaled + 1.0) * 50.0 + 16.0) / 116.0
        y = ops.where(fy > 6.0 / 29.0, fy * fy * fy, (fy - 16.0 / 116.0) * 3.0 * (6.0 / 29.0) ** 2)
        y = ops.clip(y, 0.0, 1.0)
        srgb = ops.where(y > 0.0031308, 1.055 * ops.power(ops.maximum(y, 1e-8), 1.0 / 2.4) - 0.055, 12.92 * y)
        mean = ops.convert_to_tensor(IMAGENET_MEAN, dtype=srgb.dtype)
        std = ops.convert_to_tensor(IMAGENET_STD, dtype=srgb.dtype)
        return (ops.concatenate([srgb] * 3, axis=-1) - mean) / std

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], 3)


def build_pretrained_beta(size: int = 224, encoder: str = "efficientnet-lite0", head: str = "regression", width: float = 1,
                          encoder_training: str = "finetune", imagenet: bool = True, hints: bool = False) -> keras.Model:
    """beta with an ImageNet-trained EfficientNet-Lite encoder and a U-Net decoder (module docstring).
    imagenet: load the package's ImageNet weights (False: random, for tests of the shape alone).
    hints: a second input, {"l", "hints"}: colour hints (model/hints.py) through a branch of their own, stride-2
    convolutions down to 1/32, joined to the decoder at every scale (HINT_FILTERS), so that a point's colour
    reaches as far as the deepest features see: the encoder stays ImageNet's, fed the grey photo alone."""
    from model import efficientnet
    if size % 32:
        raise ModelError(f"image size {size} must be a multiple of 32 for a pretrained encoder (its deepest "
                         "features are at 1/32)")
    v = efficientnet.variant(encoder)
    l_in = keras.Input((size, size, 1), name="l")
    x, at = efficientnet.features(ImageNetGrey(name="imagenet_grey")(l_in), v)
    hint_at = {}
    if hints:
        from model.hints import CHANNELS
        hints_in = h = keras.Input((size, size, CHANNELS), name="hints")
        for scale, filters in HINT_FILTERS:
            hint_at[scale] = h = _conv(h, filters, 2, name=f"hints{scale}")
    for scale, filters in PRETRAINED_DECODER:
        if scale != 32:
            x = layers.UpSampling2D(2, name=f"decoder_up{scale}")(x)
            x = layers.Concatenate(name=f"skip{scale}")([x, at[scale], *([hint_at[scale]] if hints else [])])
        elif hints:
            x = layers.Concatenate(name="hints_join32")([x, hint_at[32]])
        x = _conv(x, filters * width, name=f"decoder{scale}")
    if head == "classification":
        from model import quantized
        out = layers.Conv2D(quantized.NUM_BINS, 1, activation="softmax", name="ab_bins")(x)
    else:
        out = layers.UpSampling2D(2, name="ab")(_conv(x, 2, name="decoder_ab", activation="tanh"))
    model = keras.Model({"l": l_in, "hints": hints_in} if hints else l_in, out, name="beta")
    if imagenet:
        efficientnet.load_imagenet(model, encoder)
    set_encoder_training(model, v, encoder_training)
    return model


def set_encoder_training(model: keras.Model, v: "efficientnet.Variant", mode: str) -> None:
    """Which encoder layers learn. Batch normalisation always keeps ImageNet's statistics (a frozen
    BatchNormalization runs in inference mode): batches of a few dozen grey photos would only blur them."""
    from model import efficientnet
    if mode not in ENCODER_TRAINING:
        raise ModelError(f"unknown encoder training {mode!r}; choose one of {', '.join(ENCODER_TRAINING)}")
    frozen_to = {"finetune": -2, "frozen": 10 ** 6, "partial": efficientnet.feature_taps(v)[8]}[mode]
    for layer in model.layers:
        name = layer.name
        if not (name.startswith("stem") or name.startswith("block")):
            continue
        block = -1 if name.startswith("stem") else int(name[5:].split("_")[0])
        if isinstance(layer, layers.BatchNormalization) or block <= frozen_to:
            layer.trainable = False


def _join(features, vector, size, name):
    """features [size/8, size/8, C] and a vector [D] for the whole photo -> [size/8, size/8, FUSION_FILTERS]:
    the vector repeated at every position, joined by a 1x1 convolution (Deep Koalarization's fusion layer)."""
    grid = size // 8
    tiled = layers.RepeatVector(grid * grid, name=f"{name}_repeat")(vector)
    tiled = layers.Reshape((grid, grid, vector.shape[-1]), name=f"{name}_grid")(tiled)
    fused = layers.Concatenate(name=f"{name}_concat")([features, tiled])
    return layers.Conv2D(FUSION_FILTERS, 1, activation="relu", name=name)(fused)


def build_beta(size: int = 224, head: str = "regression", skips: bool = False, width: float = 1,
               context: bool = False) -> keras.Model:
    """context: the encoder's features averaged over the whole photo, through a dense layer, joined back at
    every position (as Iizuka et al. 2016 join their global features): what the whole photo shows (indoors,
    sky, water) learned from the training data, where fusion takes it from Inception."""
    l_in = keras.Input((size, size, 1), name="l")
    features, at = _encoder(l_in)
    if context:
        pooled = layers.GlobalAveragePooling2D(name="context_pool")(features)
        features = _join(features, layers.Dense(CONTEXT_UNITS, activation="relu", name="context_dense")(pooled),
                         size, "context")
    return keras.Model(l_in, _decoder(features, head, at if skips else None, width), name="beta")


def build_fusion(size: int = 224, embedding_dim: int = 1000, head: str = "regression", skips: bool = False,
                 width: float = 1) -> keras.Model:
    """Encoder output [size/8, size/8, 256] joined with the embedding repeated over that grid."""
    l_in = keras.Input((size, size, 1), name="l")
    emb_in = keras.Input((embedding_dim,), name="embedding")
    features, at = _encoder(l_in)
    fused = _join(features, emb_in, size, "fusion")
    return keras.Model({"l": l_in, "embedding": emb_in}, _decoder(fused, head, at if skips else None, width),
                       name="fusion")


HEADS = ("regression", "classification")


def build(architecture: str, size: int = 224, embedding_dim: int | None = None, head: str = "regression",
          skips: bool = False, width: float = 1, context: bool = False,
          encoder: str = SCRATCH, encoder_training: str = "finetune", imagenet: bool = True,
          hints: bool = False) -> keras.Model:
    """The network a recipe asks for. encoder: SCRATCH (beta's own) or an EfficientNet-Lite (beta only);
    hints: a hints input beside L (a pretrained encoder's beta only)."""
    if not (isinstance(width, int) and 1 <= width <= MAX_WIDTH):
        raise ModelError(f"decoder width {width!r} must be a whole number from 1 to {MAX_WIDTH}")
    if head not in HEADS:
        raise ModelError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    if encoder != SCRATCH:
        if architecture != "beta":
            raise ModelError(f"a pretrained encoder is for beta (asked for {architecture}): fusion takes the "
                             "whole photo from Inception, alpha is the one-photo demonstration")
        if skips or context:
            raise ModelError("a pretrained encoder's decoder always joins its features at every scale; "
                             "--skips and --context are for beta's own encoder")
        return build_pretrained_beta(size, encoder, head, width, encoder_training, imagenet, hints)
    if hints:
        raise ModelError("colour hints are for beta with a pretrained encoder (--encoder efficientnet-lite0)")
    if size % 8 or size < 32:
        raise ModelError(f"image size {size} must be a multiple of 8, at least 32")
    if context and architecture != "beta":
        raise ModelError("a context branch is for beta (fusion takes the whole photo from Inception's embedding; "
                         "alpha is the one-photo demonstration)")
    if architecture == "alpha":
        if head != "regression":
            raise ModelError("alpha, the one-photo demonstration, regresses ab; the classification loss is "
                             "for beta and fusion")
        if skips or width != 1:
            raise ModelError(f"{'skip connections are' if skips else 'a wider decoder is'} for beta and fusion; "
                             "alpha is the one-photo demonstration")
        return build_alpha(size)
    if architecture == "beta":
        return build_beta(size, head, skips, width, context)
    if architecture == "fusion":
        if not embedding_dim:
            raise ModelError("the fusion model needs records with embeddings "
                             "(run 'colorize preprocess' without --embedding none)")
        return build_fusion(size, embedding_dim, head, skips, width)
    raise ModelError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
