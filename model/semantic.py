"""The semantic test (after Zhang, Isola, Efros 2016): does an ImageNet classifier still see in the
colorized photo what it sees in the original? A judge is an ImageNet-trained EfficientNet-Lite; a
model whose own encoder is one of them is judged by the other, so it is not graded by its own eyes.

    photo (original | colorized | grey) --centre square at the judge's resolution--> judge --> top-1 class
    agreement = percent of photos whose colorization's top-1 class is the original's (grey: the baseline)
"""
import numpy as np

from model import efficientnet
from basics import view

JUDGE_BATCH = 16


def judge_name_for(card: dict) -> str:
    """Lite2 judges every model but one whose encoder is Lite2, which Lite0 judges."""
    own = (card.get("encoder") or {}).get("name")
    return "efficientnet-lite0" if own == "efficientnet-lite2" else "efficientnet-lite2"


class Judge:
    """An ImageNet classifier with ImageNet's weights; top1() of a list of uint8 RGB photos of any size."""

    def __init__(self, name):
        from model.inference import Compiled
        self.name = name
        self.resolution = efficientnet.variant(name).resolution
        net = efficientnet.build_classifier(name)
        efficientnet.load_imagenet(net, name)
        self._forward = Compiled(net, JUDGE_BATCH)

    def top1(self, photos: np.ndarray) -> np.ndarray:
        x = np.stack([view.square(p, self.resolution, view.TRAINING_VIEW) for p in photos]).astype(np.float32)
        return np.asarray(self._forward(efficientnet.normalise(x / 255.0))).argmax(-1)


def judge_for(card: dict) -> tuple["Judge | None", str | None]:
    """(Judge, None), or (None, why not) when the judge's weights are not installed."""
    name = judge_name_for(card)
    try:
        return Judge(name), None
    except efficientnet.EncoderError as e:
        return None, str(e)
