"""Colorization metrics, in one place. All inputs are NumPy arrays.

- pixel accuracy @t: percent of pixels whose predicted ab lies within L2 distance t (Lab ab units)
  of the truth; reported at t = 5 and 10.
- AuC: area under the accuracy-vs-threshold curve for t in 0..150, in percent (Zhang, Isola,
  Efros 2016, "Colorful Image Colorization").
- PSNR: on 8-bit sRGB, 10 log10(255^2 / MSE).
- colourfulness: Hasler & Suesstrunk (2003), on 8-bit sRGB.
"""
import numpy as np

AUC_MAX_THRESHOLD = 150
ACCURACY_THRESHOLDS = (5, 10)


def ab_distances(pred_ab, true_ab):
    """Per-pixel L2 distance in Lab ab units."""
    d = np.asarray(pred_ab, np.float64) - np.asarray(true_ab, np.float64)
    return np.sqrt(np.sum(d * d, axis=-1)).ravel()


def accuracy_curve(distances, thresholds):
    """Percent of distances <= each threshold."""
    d = np.sort(np.asarray(distances, np.float64))
    return 100.0 * np.searchsorted(d, np.asarray(thresholds, np.float64), side="right") / max(len(d), 1)


def auc(distances, max_threshold=AUC_MAX_THRESHOLD):
    t = np.arange(max_threshold + 1, dtype=np.float64)
    return float(np.trapezoid(accuracy_curve(distances, t), t) / max_threshold)


def psnr(pred_rgb, true_rgb):
    mse = np.mean((np.asarray(pred_rgb, np.float64) - np.asarray(true_rgb, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def colourfulness(rgb):
    rgb = np.asarray(rgb, np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def image_metrics(pred_ab, true_ab, pred_rgb=None, true_rgb=None):
    """All metrics of one image, as a flat dict."""
    d = ab_distances(pred_ab, true_ab)
    acc = accuracy_curve(d, ACCURACY_THRESHOLDS)
    out = {f"acc@{t}": float(a) for t, a in zip(ACCURACY_THRESHOLDS, acc, strict=True)}
    out["auc"] = auc(d)
    if pred_rgb is not None:
        out["psnr"] = psnr(pred_rgb, true_rgb)
        out["colourfulness"] = colourfulness(pred_rgb)
    return out


def mean_metrics(per_image):
    keys = per_image[0].keys() if per_image else []
    return {k: float(np.mean([m[k] for m in per_image])) for k in keys}
