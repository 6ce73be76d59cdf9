"""Colour as classification over quantized ab: the bins, the rebalancing, the loss, the annealed mean."""
import numpy as np

from model import quantized as q
from tfrecords import contract as c


def test_bins_are_the_in_gamut_cells_of_a_10_unit_ab_grid():
    assert q.NUM_BINS == len(q.AB_BINS) == 261
    assert np.all(np.abs(q.AB_BINS) <= 110) and np.all(q.AB_BINS % 10 == 0)
    assert [0, 0] in q.AB_BINS.tolist() and [-110, -110] not in q.AB_BINS.tolist()
    # every colour of real photos lies within half a cell of a bin (except far outside the sRGB gamut)
    for ab in ([0, 0], [37, -80], [-60, 60], [80, 70]):
        centre = q.AB_BINS[q.nearest_bins(np.asarray(ab, np.float32))[0]]
        assert np.abs(centre - ab).max() <= 5, (ab, centre)


def test_rebalancing_favours_rare_colours():
    grey = np.zeros((3, 8, 8, 2), np.float32)
    ab = grey.copy()
    ab[0, :2, :2] = c.scale_ab([60.0, 60.0])  # one rare orange 2x2 patch among grey
    w = q.rebalancing_weights(ab)
    grey_bin, orange_bin = q.nearest_bins([[0, 0], [60, 60]])
    assert w[grey_bin] < 1 < w[orange_bin] and w[orange_bin] > 2 * w[grey_bin]
    assert np.all(np.isfinite(w)) and np.all(w > 0)
    assert np.allclose(q.rebalancing_weights(ab, mix=1.0), 1.0)  # lambda 1: no rebalancing


def test_loss_is_lowest_for_the_true_colour_and_matches_a_hand_computation():
    true_ab = np.zeros((1, 2, 2, 2), np.float32)
    true_ab[..., 0] = c.scale_ab(20.0)  # a = 20, b = 0: a bin centre
    right = np.zeros((1, 1, 1, q.NUM_BINS), np.float32)
    right[..., q.nearest_bins([[20, 0]])[0]] = 1
    wrong = np.zeros_like(right)
    wrong[..., q.nearest_bins([[-60, 60]])[0]] = 1
    loss = q.SoftEncodedCrossEntropy()
    l_right, l_wrong = float(loss(true_ab, right)), float(loss(true_ab, wrong))
    # hand: soft target = Gaussian(sigma 5) over bin distances; CE with a one-hot (clipped at 1e-7) prediction
    d2 = ((q.AB_BINS - [20, 0]) ** 2).sum(-1)
    soft = np.exp(-d2 / 50) / np.exp(-d2 / 50).sum()
    logp = np.full(q.NUM_BINS, np.log(1e-7))
    logp[q.nearest_bins([[20, 0]])[0]] = 0
    assert np.isclose(l_right, -(soft * logp).sum(), rtol=1e-4)
    assert l_right < l_wrong


def test_annealed_mean_goes_from_the_mean_to_the_mode():
    probs = np.zeros((1, q.NUM_BINS), np.float32)
    a, b = q.nearest_bins([[40, 0], [-40, 0]])
    probs[0, a], probs[0, b] = 0.6, 0.4
    mean = np.asarray(q.AnnealedMean(1.0)(probs))[0] * c.AB_DIVISOR
    assert np.allclose(mean, [0.6 * 40 - 0.4 * 40, 0], atol=1e-3)
    sharp = np.asarray(q.AnnealedMean(0.05)(probs))[0] * c.AB_DIVISOR
    assert np.allclose(sharp, [40, 0], atol=0.1)
    between = np.asarray(q.AnnealedMean(0.38)(probs))[0, 0] * c.AB_DIVISOR
    assert 8 < between < 40


def test_flip_average_is_the_mean_of_the_photo_and_its_mirror_image_and_survives_saving(tmp_path):
    """Both networks: the decoded model averages the bin probabilities of L and of L mirrored (mirrored
    back) before the annealed mean; saved and loaded, it gives the same ab and holds no new weights."""
    import keras
    from model import networks
    for arch, emb in (("beta", None), ("fusion", 16)):
        trained = networks.build(arch, 32, emb, "classification", skips=True)
        rng = np.random.default_rng(0)
        l = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
        x = l if emb is None else {"l": l, "embedding": rng.standard_normal((2, emb)).astype(np.float32)}
        x_mirrored = l[:, :, ::-1] if emb is None else {**x, "l": l[:, :, ::-1]}
        probs = (np.asarray(trained(x)) + np.asarray(trained(x_mirrored))[:, :, ::-1]) / 2
        want = keras.layers.UpSampling2D(2, interpolation="bilinear")(q.AnnealedMean(0.5, 1.0)(probs))
        model = q.inference_model(trained, 0.5, flip_average=True)
        assert model.count_params() == trained.count_params()
        model.save(tmp_path / f"{arch}.keras")
        loaded = keras.saving.load_model(tmp_path / f"{arch}.keras")
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(want), atol=1e-6)
        plain = np.asarray(q.inference_model(trained, 0.5)(x))
        assert np.abs(plain - np.asarray(want)).max() > 1e-4  # the mirror image did change the colours
