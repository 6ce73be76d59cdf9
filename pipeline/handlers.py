"""Beam's RunInference handlers, side by side: the colorization model's (colorize run) and the Inception-ResNet-v2
embedding's (preprocess, and run with a fusion model; the network itself: model.inception)."""
import logging
import os
import time
from collections.abc import Sequence
from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

from model import hints, inference, modeldir
from model.inception import WeightsError, build_inception, preprocess
from model.inference import Compiled
from tfrecords import contract as c

log = logging.getLogger("colorize")


class InceptionEmbeddingHandler(ModelHandler):
    """RunInference handler: one Inception-ResNet-v2 per worker, batches of 299x299 grey images."""

    def __init__(self, weights_arg, expected_sha256=None, batch_size=32, share=False, whole_batches=None):
        # whole_batches: a bundle's photos up to the batch size at once; else Beam's adaptive size, which
        # starts at 1 and grows while batches pay. None: whole batches where each new length compiles (JAX)
        whole = compiles_each_shape() if whole_batches is None else whole_batches
        super().__init__(min_batch_size=batch_size if whole else 1, max_batch_size=batch_size)
        self._weights_arg = weights_arg
        self._expected = expected_sha256
        self._batch_size = batch_size
        self._share = share

    def load_model(self) -> "_Embedder":
        start = time.time()
        model, spec = build_inception(self._weights_arg)
        log.info("Inception loaded in %.1f s by process %d%s", time.time() - start, os.getpid(),
                 ", shared with this machine's other workers" if self._share else "")
        if self._expected and spec.weights_sha256 != self._expected:
            raise WeightsError(f"Inception weights {self._weights_arg} hash {spec.weights_sha256[:12]} "
                               f"differ from the expected {self._expected[:12]}")
        return _Embedder(Compiled(model, self._batch_size))

    def run_inference(self, batch: Sequence[np.ndarray], model: "_Embedder",
                      inference_args: dict | None = None) -> list[PredictionResult]:
        out = np.asarray(model(np.stack(batch)))
        return [PredictionResult(x, y) for x, y in zip(batch, out, strict=True)]

    def get_metrics_namespace(self) -> str:
        return "colorize-inception"

    def share_model_across_processes(self) -> bool:
        return self._share


class _Embedder:
    """uint8 grey views [n, 299, 299, 3] -> embeddings [n, 1000]. Scaling happens here, beside the model,
    so a shared model is sent uint8 (a quarter of the bytes of Inception's float input)."""

    def __init__(self, compiled):
        self._compiled = compiled

    def __call__(self, grey_uint8):
        return np.asarray(self._compiled(preprocess(grey_uint8)))


def compiles_each_shape() -> bool:
    """True where every new batch length compiles anew (Keras on JAX; a GPU pads to the batch size too):
    there Inception should take whole batches. TensorFlow runs a batch of any length as it is."""
    import keras
    return keras.backend.backend() != "tensorflow"


class EmbedInception(beam.PTransform):
    """(key, grey uint8 [299, 299, 3]) -> (key, embedding float32 [1000]): Inception-ResNet-v2 through
    RunInference, loaded once per worker with the weights the key's records or model were made with."""

    def __init__(self, weights_arg, expected_sha256=None, batch_size=32, share=False, whole_batches=None):
        super().__init__()
        self.handler = KeyedModelHandler(InceptionEmbeddingHandler(weights_arg, expected_sha256, batch_size, share,
                                                                   whole_batches))

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return (pcoll
                | "Inception" >> RunInference(self.handler)
                | "Embedding" >> beam.MapTuple(lambda key, result: (key, result.inference)))


class Hinted(NamedTuple):
    """A photo's L at the model's size and its colour hints ((x, y, a, b), ...: model/hints.py), for a model that
    takes them: the points travel, their planes are drawn here, beside the model (a tenth of the bytes)."""
    l: np.ndarray
    points: tuple


class ColorizationModelHandler(ModelHandler):
    """RunInference handler: loads a model directory once per worker; batches of L (and embeddings).

    model_dir None means the model shipped with the package, found where the worker installed it.
    share: one model for every worker process of a machine, served to the others by the first.
    """

    def __init__(self, model_dir, batch_size=16, vividness=1.0, share=False):
        # Fixed batches: a bundle's last batch is flushed smaller anyway.
        super().__init__(min_batch_size=batch_size, max_batch_size=batch_size)
        self._model_dir, self._vividness, self._batch_size = model_dir, vividness, batch_size
        self._share = share

    def load_model(self) -> inference.Compiled:
        start = time.time()
        model, _ = modeldir.load(self._model_dir)
        log.info("model loaded in %.1f s by process %d%s", time.time() - start, os.getpid(),
                 ", shared with this machine's other workers" if self._share else "")
        return inference.Compiled(model, self._batch_size)

    def share_model_across_processes(self) -> bool:
        return self._share

    def run_inference(self, batch: Sequence, model: inference.Compiled,
                      inference_args: dict | None = None) -> list[PredictionResult]:
        if isinstance(batch[0], Hinted):
            x = {"l": np.stack([b.l for b in batch]),
                 "hints": np.stack([hints.draw(b.points, *b.l.shape[:2]) for b in batch])}
        elif isinstance(batch[0], tuple):
            x = {"l": np.stack([b[0] for b in batch]), "embedding": np.stack([b[1] for b in batch])}
        else:
            x = np.stack(batch)  # Compiled gives a model that takes hints empty planes
        ab = inference.vivid(c.unscale_ab(np.asarray(model(x))), self._vividness)
        return [PredictionResult(None, a) for a in ab]

    def get_metrics_namespace(self) -> str:
        return "colorize-model"
