"""The metric definitions, against values computed by hand on small arrays."""
import numpy as np
import pytest

from model import metrics


def test_accuracy_counts_pixels_within_the_threshold():
    true = np.zeros((1, 4, 2))
    pred = np.array([[[3, 4], [6, 8], [0, 0], [30, 40]]], float)  # distances 5, 10, 0, 50
    d = metrics.ab_distances(pred, true)
    assert list(d) == [5, 10, 0, 50]
    assert list(metrics.accuracy_curve(d, [0, 5, 9.99, 10, 60])) == [25, 50, 50, 75, 100]
    m = metrics.image_metrics(pred, true)
    assert m["acc@5"] == 50 and m["acc@10"] == 75


def test_auc_by_hand():
    # one pixel at distance 0: accuracy 100 % at every threshold -> AuC 100
    assert metrics.auc(np.array([0.0])) == pytest.approx(100)
    # one pixel at distance 75: 0 % up to 74, 100 % from 75 on; the trapezoid from 74 to 75 adds half a step
    assert metrics.auc(np.array([75.0])) == pytest.approx((75 * 100 + 0.5 * 100) / 150)
    # distances 0 and 150: 50 % up to 149, 100 % at 150 -> (149 * 50 + 0.5 * (50 + 100)) / 150
    assert metrics.auc(np.array([0.0, 150.0])) == pytest.approx((149 * 50 + 75) / 150)


def test_psnr_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 12  # MSE = 144 / 12 = 12
    assert metrics.psnr(b, a) == pytest.approx(10 * np.log10(255 ** 2 / 12))
    assert metrics.psnr(a, a) == float("inf")


def test_colourfulness_by_hand():
    grey = np.full((4, 4, 3), 100, np.uint8)
    assert metrics.colourfulness(grey) == 0
    red = np.zeros((2, 1, 3))
    red[0] = [255, 0, 0]  # rg = [255, 0], yb = [127.5, 0]
    expected = np.hypot(127.5, 63.75) + 0.3 * np.hypot(127.5, 63.75)
    assert metrics.colourfulness(red) == pytest.approx(expected)
