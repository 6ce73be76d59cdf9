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


def _ab(degrees, chroma):
    r = np.radians(degrees)
    return [chroma * np.cos(r), chroma * np.sin(r)]


def test_hue_recall_by_hand():
    # true colours: hue 10 (red), 90 (orange/yellow), 180 (green/cyan), 270 (blue), 350 (purple), and one
    # pixel too grey to count (chroma 15 < 20)
    true = np.array([_ab(10, 40), _ab(90, 30), _ab(180, 50), _ab(270, 25), _ab(350, 60), _ab(90, 15)])
    pred = np.array([_ab(35, 12),    # 25 degrees off, chroma 12: recalled
                     _ab(90, 8),     # right hue, chroma 8 < 10: not recalled
                     _ab(145, 40),   # 35 degrees off: not recalled
                     _ab(245, 30),   # 25 degrees off: recalled
                     _ab(15, 20),    # 25 degrees off across 0/360: recalled
                     _ab(90, 40)])   # not counted: its truth is too grey
    recalled, counted = metrics.hue_counts(pred, true)
    assert counted == [1, 1, 0, 1, 1, 1] and recalled == [1, 0, 0, 0, 1, 1]
    table, balanced = metrics.hue_recall(recalled, counted)
    assert list(table.values()) == [100.0, 0.0, None, 0.0, 100.0, 100.0]
    assert balanced == pytest.approx(60.0)  # mean of the five sectors that have pixels


def test_hue_counts_pool_over_a_set_so_big_photos_weigh_as_their_pixels_do():
    big = metrics.image_metrics(np.array([_ab(100, 30)] * 9), np.array([_ab(100, 30)] * 9))  # 9 of 9 recalled
    small = metrics.image_metrics(np.zeros((1, 2)), np.array([_ab(100, 30)]))                 # 0 of 1: grey
    mean = metrics.mean_metrics([big, small])
    assert mean["hue_recall"]["60-120 orange/yellow"] == pytest.approx(90.0)  # 9 of 10, not (100 + 0) / 2
    assert mean["hue_balanced_recall"] == pytest.approx(90.0)
    assert mean["hue_pixels"]["60-120 orange/yellow"] == 10
    # grey recalls nothing, whatever the truth
    grey = metrics.image_metrics(np.zeros((6, 2)), np.array([_ab(h, 50) for h in range(5, 360, 60)]))
    assert metrics.mean_metrics([grey])["hue_balanced_recall"] == 0
