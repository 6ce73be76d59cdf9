"""The model shipped with the project: present, loadable in safe mode, and it colorizes a real photo."""
import os

import numpy as np
from PIL import Image

from model import inference, metrics, modeldir
from basics.lab import lightness


def test_shipped_model_is_present_and_described():
    assert os.path.exists(os.path.join(modeldir.DEFAULT_MODEL_DIR, modeldir.MODEL_FILE)), "model/default is missing"
    card = modeldir.read_card(modeldir.DEFAULT_MODEL_DIR)
    assert card["architecture"] in ("beta", "fusion") and card["data"]["train_photos"] > 1000
    # scored on whole sources it never saw, at full resolution: at least grayscale's AuC less 0.3 (the rule that
    # chose it), and it takes colour hints
    assert card["metrics"]["model"]["auc"] >= card["metrics"]["grayscale_baseline"]["auc"] - 0.3
    assert card["hints"] is True and "held-out sources" in card["metrics"]["split"]


def test_shipped_model_colorizes_a_real_photo(photos):
    model, card = modeldir.load(None)
    grey = np.asarray(Image.fromarray(photos["coffee"]).convert("L"))
    colour = inference.colorize_pixels(model, grey, card["image_size"])
    assert colour.shape == grey.shape + (3,)
    assert np.abs(lightness(colour) - lightness(grey)).mean() < 1.0
    assert metrics.colourfulness(colour) > 5
