"""Colorization metrics, in one place. All inputs are NumPy arrays.

- pixel accuracy @t: percent of pixels whose predicted ab lies within L2 distance t (Lab ab units)
  of the truth; reported at t = 5 and 10.
- AuC: area under the accuracy-vs-threshold curve for t in 0..150, in percent (Zhang, Isola,
  Efros 2016, "Colorful Image Colorization").
- PSNR: on 8-bit sRGB, 10 log10(255^2 / MSE).
- colourfulness: Hasler & Suesstrunk (2003), on 8-bit sRGB.
- hue recall, per 60-degree sector of the TRUE ab hue (0-60 red, ..., 300-360 purple): of the pixels
  whose true chroma |ab| is >= 20, the percent where the output has chroma >= 10 and a hue within 30
  degrees of the truth's. Pooled over every pixel of a set (counts summed, then divided), so a big
  photo weighs as its pixels do. Hue-balanced recall: the mean of the sectors' recalls (sectors with
  no such pixel left out). A random hue scores about 16.7 %, grey 0: unlike AuC it cannot be won
  with a safe brown.
"""
import numpy as np
from collections.abc import Sequence

AUC_MAX_THRESHOLD = 150
ACCURACY_THRESHOLDS = (5, 10)
HUE_SECTORS = ("0-60 red", "60-120 orange/yellow", "120-180 yellow-green/green", "180-240 green/cyan",
               "240-300 blue", "300-360 purple")
HUE_TRUE_CHROMA = 20.0   # a pixel counts when its true colour is at least this saturated
HUE_PRED_CHROMA = 10.0   # ... and is recalled when the output is at least this saturated
HUE_TOLERANCE = 30.0     # ... with a hue within this many degrees


def ab_distances(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """Per-pixel L2 distance in Lab ab units."""
    d = np.asarray(pred_ab, np.float64) - np.asarray(true_ab, np.float64)
    return np.sqrt(np.sum(d * d, axis=-1)).ravel()


def accuracy_curve(distances: np.ndarray, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """Percent of distances <= each threshold."""
    d = np.sort(np.asarray(distances, np.float64))
    return 100.0 * np.searchsorted(d, np.asarray(thresholds, np.float64), side="right") / max(len(d), 1)


def auc(distances: np.ndarray, max_threshold: float = AUC_MAX_THRESHOLD) -> float:
    t = np.arange(max_threshold + 1, dtype=np.float64)
    return float(np.trapezoid(accuracy_curve(distances, t), t) / max_threshold)


def psnr(pred_rgb: np.ndarray, true_rgb: np.ndarray) -> float:
    mse = np.mean((np.asarray(pred_rgb, np.float64) - np.asarray(true_rgb, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def colourfulness(rgb: np.ndarray) -> float:
    rgb = np.asarray(rgb, np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _hue_degrees(ab):
    return np.degrees(np.arctan2(ab[:, 1], ab[:, 0])) % 360.0


def hue_counts(pred_ab: np.ndarray, true_ab: np.ndarray) -> tuple[list[int], list[int]]:
    """(recalled pixels, counted pixels) per hue sector of the truth, each a list of 6 ints."""
    t = np.asarray(true_ab, np.float64).reshape(-1, 2)
    p = np.asarray(pred_ab, np.float64).reshape(-1, 2)
    counted = np.hypot(t[:, 0], t[:, 1]) >= HUE_TRUE_CHROMA
    t, p = t[counted], p[counted]
    true_hue = _hue_degrees(t)
    apart = np.abs((_hue_degrees(p) - true_hue + 180.0) % 360.0 - 180.0)
    recalled = (np.hypot(p[:, 0], p[:, 1]) >= HUE_PRED_CHROMA) & (apart <= HUE_TOLERANCE)
    sector = np.minimum((true_hue // 60.0).astype(np.int64), len(HUE_SECTORS) - 1)
    n = len(HUE_SECTORS)
    return (np.bincount(sector[recalled], minlength=n).tolist(), np.bincount(sector, minlength=n).tolist())


def hue_recall(recalled: Sequence[int], counted: Sequence[int]) -> tuple[dict, float | None]:
    """Pooled counts -> ({sector: percent or None}, hue-balanced recall: the mean of the sectors that have pixels)."""
    table = {name: (100.0 * r / c if c else None) for name, r, c in zip(HUE_SECTORS, recalled, counted, strict=True)}
    present = [v for v in table.values() if v is not None]
    return table, (float(np.mean(present)) if present else None)


def image_metrics(pred_ab: np.ndarray, true_ab: np.ndarray, pred_rgb: np.ndarray | None = None,
                  true_rgb: np.ndarray | None = None) -> dict:
    """All metrics of one image: numbers, and the hue counts ("hue_recalled", "hue_counted") that sets pool."""
    d = ab_distances(pred_ab, true_ab)
    acc = accuracy_curve(d, ACCURACY_THRESHOLDS)
    out = {f"acc@{t}": float(a) for t, a in zip(ACCURACY_THRESHOLDS, acc, strict=True)}
    out["auc"] = auc(d)
    if pred_rgb is not None:
        out["psnr"] = psnr(pred_rgb, true_rgb)
        out["colourfulness"] = colourfulness(pred_rgb)
    out["hue_recalled"], out["hue_counted"] = hue_counts(pred_ab, true_ab)
    return out


def mean_metrics(per_image: list[dict]) -> dict:
    """Means of the per-image numbers; the hue counts summed and turned into the hue table and its balance."""
    keys = per_image[0].keys() if per_image else []
    out = {k: float(np.mean([m[k] for m in per_image])) for k in keys if not k.startswith("hue_")}
    if per_image and "hue_counted" in per_image[0]:
        recalled = np.sum([m["hue_recalled"] for m in per_image], axis=0).tolist()
        counted = np.sum([m["hue_counted"] for m in per_image], axis=0).tolist()
        out["hue_recall"], out["hue_balanced_recall"] = hue_recall(recalled, counted)
        out["hue_pixels"] = dict(zip(HUE_SECTORS, counted, strict=True))
    return out
