"""sRGB (D65) <-> CIE Lab conversion in NumPy, matching skimage.color.rgb2lab / lab2rgb, and Lab as numbers: the
network's scaling to [-1, 1] and the records' 8-bit quantization (part of the data contract, tfrecords.contract).

NumPy only (no TensorFlow), so Beam workers, the trainer on any Keras backend and the
inference stage all share one implementation.
"""
from typing import Any

import numpy as np

# Lab scaling also runs on backend tensors (the trainer's tf.data and Keras graphs): any array-like.
ArrayLike = Any

# sRGB primaries -> XYZ, D65 white (IEC 61966-2-1), as scikit-image uses.
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]], dtype=np.float64)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)
_EPSILON = 0.008856
_KAPPA = 7.787


def _srgb_to_linear(c):
    return np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)


def _linear_to_srgb(c):
    c = np.clip(c, 0.0, None)
    return np.where(c > 0.0031308, 1.055 * np.power(c, 1 / 2.4) - 0.055, 12.92 * c)


def _f(t):
    return np.where(t > _EPSILON, np.cbrt(t), _KAPPA * t + 16.0 / 116.0)


def _f_inv(t):
    t3 = t * t * t  # a product, not a power: much cheaper per pixel
    return np.where(t3 > _EPSILON, t3, (t - 16.0 / 116.0) / _KAPPA)


def _as_unit_float(rgb):
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    return rgb.astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] sRGB (uint8, or float in [0, 1]) -> float32 Lab (L in [0, 100])."""
    lin = _srgb_to_linear(_as_unit_float(rgb))
    xyz = (lin @ _RGB_TO_XYZ.T.astype(np.float32)) / _WHITE_D65.astype(np.float32)
    fx, fy, fz = (_f(xyz[..., i]) for i in range(3))
    lab = np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)
    return lab.astype(np.float32)


_M = _XYZ_TO_RGB.astype(np.float32)
_W = _WHITE_D65.astype(np.float32)


def _linear_from(fy, y, a, b):
    """The three linear-light RGB planes of colours given as fy = (L + 16) / 116, their Y (which depends on L
    alone, so a chroma search computes it once), a and b: channel by channel, on planes (cheaper than a
    [..., 3] matmul on interleaved pixels)."""
    x = _f_inv(fy + a / 500.0) * _W[0]
    z = _f_inv(np.maximum(fy - b / 200.0, 0.0)) * _W[2]
    return [_M[i, 0] * x + _M[i, 1] * y + _M[i, 2] * z for i in range(3)]


def _lab_to_linear_channels(lab):
    """Lab -> the three linear-light RGB planes."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    return _linear_from(fy, _f_inv(fy) * _W[1], lab[..., 1], lab[..., 2])


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    return np.stack(_lab_to_linear_channels(lab), axis=-1)


# A colour is in the sRGB gamut when its linear channels lie in [0, 1] (a hair of slack for float error).
_GAMUT_SLACK = 1e-4
# Halvings of the chroma factor: found to 1/256, at most 0.5 of chroma's units lost on the strongest colours (the
# colour is always taken from the side inside, so its L is exact however few the steps); 12 cost the merge of a
# photo half as much again, for differences no eye sees.
_GAMUT_STEPS = 8


def _outside(channels):
    low = np.minimum(np.minimum(channels[0], channels[1]), channels[2])
    high = np.maximum(np.maximum(channels[0], channels[1]), channels[2])
    return (low < -_GAMUT_SLACK) | (high > 1.0 + _GAMUT_SLACK)


def _linear_planes_in_gamut(l, a, b):
    """L, a and b planes -> their linear RGB planes, each colour outside sRGB first brought inside at its own L
    and hue: its chroma scaled by the largest factor in [0, 1] that fits (halved to 1/256). Clipping RGB
    instead would move the colour's lightness, and a colour copy keeps its photo's L. The grey at every L in
    [0, 100] fits, so a factor always exists; only the pixels outside are searched, as flat runs of numbers
    (fy and Y, which depend on L alone, computed once)."""
    l, a, b = (np.asarray(p, dtype=np.float32) for p in (l, a, b))
    fy = (l + 16.0) / 116.0
    y = _f_inv(fy) * _W[1]
    channels = _linear_from(fy, y, a, b)
    outside = np.flatnonzero(_outside(channels))
    if not len(outside):
        return channels
    fy_o, y_o, a_o, b_o = (np.ravel(p)[outside] for p in (fy, y, a, b))
    lo, hi = np.zeros(len(outside), np.float32), np.ones(len(outside), np.float32)
    for _ in range(_GAMUT_STEPS):
        mid = (lo + hi) / 2
        fits = ~_outside(_linear_from(fy_o, y_o, a_o * mid, b_o * mid))
        lo, hi = np.where(fits, mid, lo), np.where(fits, hi, mid)
    for lin, fitted in zip(channels, _linear_from(fy_o, y_o, a_o * lo, b_o * lo), strict=True):
        lin.reshape(-1)[outside] = fitted  # each plane is a fresh contiguous array: reshape is a view
    return channels


def _linear_channels_in_gamut(lab):
    lab = np.asarray(lab, dtype=np.float32)
    return _linear_planes_in_gamut(lab[..., 0], lab[..., 1], lab[..., 2])


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """[..., 3] Lab -> float32 sRGB in [0, 1] (out-of-gamut colours brought in at their own L and hue)."""
    lin = np.stack(_linear_channels_in_gamut(lab), axis=-1)
    return np.clip(_linear_to_srgb(lin), 0.0, 1.0).astype(np.float32)


# Linear light -> 8-bit sRGB by table: 65536 steps are fine enough that the result equals the
# rounded exact curve to within one level, and a lookup is far cheaper than a power per pixel.
_SRGB_LUT_STEPS = 65535
_SRGB_LUT = np.round(np.clip(_linear_to_srgb(np.arange(_SRGB_LUT_STEPS + 1) / _SRGB_LUT_STEPS), 0, 1)
                     * 255.0).astype(np.uint8)


def lab_to_rgb_uint8(lab: np.ndarray) -> np.ndarray:
    """Lab -> uint8 sRGB (out-of-gamut colours brought in at their own L and hue)."""
    lab = np.asarray(lab, dtype=np.float32)
    return planes_to_rgb_uint8(lab[..., 0], lab[..., 1], lab[..., 2])


def planes_to_rgb_uint8(l: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L, a and b planes of one shape -> uint8 sRGB [..., 3], as lab_to_rgb_uint8: the merge's form, which never
    interleaves a full-resolution Lab only to take it apart again."""
    channels = _linear_planes_in_gamut(l, a, b)
    out = np.empty(np.shape(channels[0]) + (3,), np.uint8)
    for i, lin in enumerate(channels):
        np.clip(lin, 0.0, 1.0, out=lin)
        lin *= _SRGB_LUT_STEPS
        lin += 0.5
        out[..., i] = _SRGB_LUT[lin.astype(np.int32)]
    return out


# L depends on luminance Y alone, so for 8-bit input it is a per-channel table lookup:
# far cheaper than a full Lab conversion on a 50-megapixel scan.
_LINEAR_LUT = _srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
_Y_WEIGHTS = (_RGB_TO_XYZ[1] / _WHITE_D65[1]).astype(np.float32)


def lightness(rgb_or_gray: np.ndarray) -> np.ndarray:
    """CIE L* of sRGB [..., 3] or grey [...] pixels, uint8 or uint16 (a 16-bit master), float32 in [0, 100]."""
    arr = np.asarray(rgb_or_gray)
    if arr.dtype == np.uint8:
        linear, grey = _LINEAR_LUT, _L_OF_GREY
    elif arr.dtype == np.uint16:
        linear, grey = _tables16()
    else:
        raise TypeError(f"lightness() takes uint8 or uint16 pixels, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] == 3:
        y = (linear[arr[..., 0]] * _Y_WEIGHTS[0] + linear[arr[..., 1]] * _Y_WEIGHTS[1]
             + linear[arr[..., 2]] * _Y_WEIGHTS[2])
        if arr.dtype == np.uint16:  # the 65536-step table of L would round away a 16-bit master's finest steps
            return (116.0 * _f(y) - 16.0).astype(np.float32)
        return _L_OF_Y[np.clip(y * _Y_STEPS + 0.5, 0, _Y_STEPS).astype(np.int32)]
    return grey[arr]


# L of luminance Y in [0, 1] by table (65536 steps: at most 0.014 L units from the exact value),
# and L of an 8-bit grey level exactly.
_Y_STEPS = 65535
_L_OF_Y = (116.0 * _f(np.arange(_Y_STEPS + 1) / _Y_STEPS) - 16.0).astype(np.float32)
_L_OF_GREY = (116.0 * _f(_LINEAR_LUT.astype(np.float64) * float(_Y_WEIGHTS.sum())) - 16.0).astype(np.float32)


_TABLES16 = []


def _tables16():
    """(linear light, L of a grey level) for each of the 65536 levels of 16-bit pixels, made on first use."""
    if not _TABLES16:
        linear = _srgb_to_linear(np.arange(65536, dtype=np.float64) / 65535.0)
        _TABLES16.append((linear.astype(np.float32),
                          (116.0 * _f(linear * float(_Y_WEIGHTS.sum())) - 16.0).astype(np.float32)))
    return _TABLES16[0]


def lab_to_rgb_uint16(lab: np.ndarray) -> np.ndarray:
    """Lab -> uint16 sRGB (out-of-gamut colours brought in at their own L and hue): the colour copy of a 16-bit
    master, computed exactly (no table), so L's 16-bit steps survive."""
    lab = np.asarray(lab, dtype=np.float32)
    return planes_to_rgb_uint16(lab[..., 0], lab[..., 1], lab[..., 2])


def planes_to_rgb_uint16(l: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L, a and b planes of one shape -> uint16 sRGB [..., 3], as lab_to_rgb_uint16 (planes_to_rgb_uint8's twin)."""
    channels = _linear_planes_in_gamut(l, a, b)
    out = np.empty(np.shape(channels[0]) + (3,), np.uint16)
    for i, lin in enumerate(channels):
        out[..., i] = np.round(np.clip(_linear_to_srgb(lin), 0.0, 1.0) * 65535.0)
    return out


def grey_rgb_from_lightness(l: np.ndarray) -> np.ndarray:
    """The neutral sRGB grey (uint8, 3 channels) with lightness L: what a B&W photo shows."""
    y = _f_inv((np.asarray(l, dtype=np.float32) + 16.0) / 116.0)
    grey = np.round(np.clip(_linear_to_srgb(y), 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


# Scaling the models see. L in [0, 100] -> [-1, 1]; ab divided by a fixed 110, which holds the
# whole sRGB gamut (|a|, |b| <= 108 for sRGB colours) inside [-1, 1].
L_SCALE = 50.0
AB_DIVISOR = 110.0

# Quantization in records: L as uint8 (step 100/255, error <= 0.2 L units); ab as int8 of the
# scaled value * 127 (step 110/127 = 0.87 ab units, error <= 0.44 ab units).
L_QUANT = 255.0 / 100.0
AB_QUANT = 127.0


def scale_l(l: ArrayLike) -> ArrayLike:
    return np.asarray(l, np.float32) / L_SCALE - 1.0


def unscale_l(l_scaled: ArrayLike) -> ArrayLike:
    return (np.asarray(l_scaled, np.float32) + 1.0) * L_SCALE


def scale_ab(ab: ArrayLike) -> ArrayLike:
    return np.asarray(ab, np.float32) / AB_DIVISOR


def unscale_ab(ab_scaled: ArrayLike) -> ArrayLike:
    return np.asarray(ab_scaled, np.float32) * AB_DIVISOR


def quantize_l(l: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(l, np.float32) * L_QUANT), 0, 255).astype(np.uint8)


def dequantize_l(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, np.float32) / L_QUANT


def quantize_ab(ab: np.ndarray) -> np.ndarray:
    return np.clip(np.round(scale_ab(ab) * AB_QUANT), -127, 127).astype(np.int8)


def dequantize_ab(q: np.ndarray) -> np.ndarray:
    return unscale_ab(np.asarray(q, np.float32) / AB_QUANT)


def model_l_from_record(q: ArrayLike) -> ArrayLike:
    """Record L (uint8 values, as float32) -> the model's scale [-1, 1]; NumPy arrays or TF tensors."""
    return q * (1.0 / (L_QUANT * L_SCALE)) - 1.0


def model_ab_from_record(q: ArrayLike) -> ArrayLike:
    """Record ab (int8 values, as float32) -> the model's scale [-1, 1]; NumPy arrays or TF tensors."""
    return q * (1.0 / AB_QUANT)
