"""The records on disk, written and read in one place: `encode_example` (the writer `colorize preprocess`
uses), `load` (tf.data), `read_arrays` (pure Python, no TensorFlow) and `batches` (whichever fits the
Keras backend). Keys, encodings and scaling come from `tfrecords.contract`.
"""
import gzip
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tfrecords import contract as c


def _put_varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len_field(number, payload):
    return _put_varint(number << 3 | 2) + _put_varint(len(payload)) + payload


def _feature(kind, payload):
    """A tf.train.Feature: oneof 1 BytesList / 2 FloatList / 3 Int64List, whose field 1 holds the values."""
    return _len_field(kind, payload)


def encode_example(source: str, l_q: np.ndarray, ab_q: np.ndarray, embedding: np.ndarray | None = None) -> bytes:
    """One record: source path, uint8 L [H, W], int8 ab [H, W, 2], optional float embedding -> bytes.

    The tf.train.Example protobuf written by hand (TensorFlow's parser reads it; tested), so that
    preprocessing needs no TensorFlow on any Keras backend."""
    h, w = l_q.shape
    feature = {
        c.KEY_L: _feature(1, _len_field(1, np.ascontiguousarray(l_q, np.uint8).tobytes())),
        c.KEY_AB: _feature(1, _len_field(1, np.ascontiguousarray(ab_q, np.int8).tobytes())),
        c.KEY_HEIGHT: _feature(3, _len_field(1, _put_varint(int(h)))),
        c.KEY_WIDTH: _feature(3, _len_field(1, _put_varint(int(w)))),
        c.KEY_SOURCE: _feature(1, _len_field(1, source.encode("utf-8"))),
    }
    if embedding is not None:
        feature[c.KEY_EMBEDDING] = _feature(2, _len_field(1, np.asarray(embedding, "<f4").ravel().tobytes()))
    entries = b"".join(_len_field(1, _len_field(1, k.encode()) + _len_field(2, v)) for k, v in feature.items())
    return _len_field(1, entries)  # Example.features (1) -> Features.feature (1): map entries key 1, value 2


def shard_pattern(data_dir: str, split: str) -> str:
    if split not in c.SPLITS:
        raise c.ContractError(f"unknown split {split!r}; choose one of {', '.join(c.SPLITS)}")
    return f"{data_dir.rstrip('/')}/{split}-*-of-*{c.RECORD_SUFFIX}"


def _feature_spec(with_embedding, dim):
    import tensorflow as tf
    spec = {
        c.KEY_L: tf.io.FixedLenFeature([], tf.string),
        c.KEY_AB: tf.io.FixedLenFeature([], tf.string),
        c.KEY_HEIGHT: tf.io.FixedLenFeature([], tf.int64),
        c.KEY_WIDTH: tf.io.FixedLenFeature([], tf.int64),
        c.KEY_SOURCE: tf.io.FixedLenFeature([], tf.string),
    }
    if with_embedding:
        spec[c.KEY_EMBEDDING] = tf.io.FixedLenFeature([dim], tf.float32)
    return spec


def parse_fn(info: dict) -> Callable:
    """A function that turns one serialized record into the dict the models see."""
    import tensorflow as tf
    embedding = c.EmbeddingSpec.from_dict(info.get("embedding"))
    spec = _feature_spec(embedding is not None, embedding.dim if embedding else 0)

    def parse(serialized: Any) -> dict:
        ex = tf.io.parse_single_example(serialized, spec)
        h, w = ex[c.KEY_HEIGHT], ex[c.KEY_WIDTH]
        l_q = tf.reshape(tf.io.decode_raw(ex[c.KEY_L], tf.uint8), tf.stack([h, w, 1]))
        ab_q = tf.reshape(tf.io.decode_raw(ex[c.KEY_AB], tf.int8), tf.stack([h, w, 2]))
        out = {
            "l": c.model_l_from_record(tf.cast(l_q, tf.float32)),
            "ab": c.model_ab_from_record(tf.cast(ab_q, tf.float32)),
            "source": ex[c.KEY_SOURCE],
        }
        if embedding is not None:
            out["embedding"] = ex[c.KEY_EMBEDDING]
        return out
    return parse


def load(data_dir: str, split: str = "train", info: dict | None = None) -> Any:
    """tf.data.Dataset of {l [H,W,1], ab [H,W,2] in [-1,1], embedding [D]?, source} for a split."""
    import tensorflow as tf
    info = info or c.read_dataset_json(data_dir)
    files = tf.io.gfile.glob(shard_pattern(data_dir, split))
    if not files:
        raise c.ContractError(f"no {split} records in {data_dir}")
    size = info["image_size"]
    ds = tf.data.TFRecordDataset(sorted(files), compression_type="GZIP",
                                 num_parallel_reads=tf.data.AUTOTUNE)
    ds = ds.map(parse_fn(info), num_parallel_calls=tf.data.AUTOTUNE)
    shapes = {"l": [size, size, 1], "ab": [size, size, 2]}
    return ds.map(lambda d: {k: tf.ensure_shape(v, shapes[k]) if k in shapes else v for k, v in d.items()})


# --- Pure-Python reader: no TensorFlow needed (JAX / PyTorch Keras backends). ---

def _records(path):
    """Yields the payloads of a gzip TFRecord file (length, crc, data, crc framing)."""
    with gzip.open(path, "rb") as f:
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise c.ContractError(f"{path}: truncated record header")
            (length,) = struct.unpack("<Q", header[:8])
            data = f.read(length)
            if len(data) < length or len(f.read(4)) < 4:
                raise c.ContractError(f"{path}: truncated record")
            yield data


def _varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """(field number, wire type, value) of a protobuf message; LEN values as memoryviews."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        else:
            raise c.ContractError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _parse_feature(buf):
    for kind, _, lst in _fields(buf):  # oneof: 1 bytes_list, 2 float_list, 3 int64_list
        values = []
        for _, wire, v in _fields(lst):
            if kind == 1:
                values.append(bytes(v))
            elif kind == 2:
                values.extend(np.frombuffer(v, "<f4").tolist())
            elif wire == 0:
                values.append(v)
            else:
                pos = 0
                while pos < len(v):
                    x, pos = _varint(v, pos)
                    values.append(x)
        return values
    return []


def parse_example(data: bytes) -> dict:
    """tf.train.Example bytes -> {key: list of values}."""
    features = {}
    for _, _, feats in _fields(memoryview(data)):
        for _, _, entry in _fields(feats):
            key, value = None, b""
            for number, _, v in _fields(entry):
                if number == 1:
                    key = bytes(v).decode()
                else:
                    value = v
            features[key] = _parse_feature(value)
    return features


def read_arrays(data_dir: str, split: str = "train", limit: int | None = None) -> dict:
    """The split as NumPy arrays: l float32 [N,H,W,1], ab float32 [N,H,W,2], embedding?, source."""
    import glob as globlib
    c.read_dataset_json(data_dir)  # a clear error when DIR is not a records folder
    files = sorted(globlib.glob(shard_pattern(data_dir, split)))
    if not files:
        raise c.ContractError(f"no {split} records in {data_dir}")
    ls, abs_, embs, sources = [], [], [], []
    records = (data for path in files for data in _records(path))
    for data in records:
        ex = parse_example(data)
        h, w = ex[c.KEY_HEIGHT][0], ex[c.KEY_WIDTH][0]
        ls.append(np.frombuffer(ex[c.KEY_L][0], np.uint8).reshape(h, w, 1))
        abs_.append(np.frombuffer(ex[c.KEY_AB][0], np.int8).reshape(h, w, 2))
        sources.append(ex[c.KEY_SOURCE][0].decode())
        if c.KEY_EMBEDDING in ex:
            embs.append(np.asarray(ex[c.KEY_EMBEDDING], np.float32))
        if limit and len(ls) >= limit:
            break
    out = {
        "l": c.model_l_from_record(np.stack(ls).astype(np.float32)),
        "ab": c.model_ab_from_record(np.stack(abs_).astype(np.float32)),
        "source": np.array(sources),
    }
    if embs:
        out["embedding"] = np.stack(embs)
    return out


def batches(data_dir: str, split: str, batch_size: int, info: dict | None = None,
            limit: int | None = None) -> Iterator[dict]:
    """Dicts of NumPy batches (l, ab, embedding?, source as str) of a split, whatever the Keras backend:
    through tf.data on TensorFlow (which reads gs:// too), in pure Python elsewhere."""
    import keras
    if keras.backend.backend() == "tensorflow":
        ds = load(data_dir, split, info=info)
        if limit:
            ds = ds.take(limit)
        for b in ds.batch(batch_size).as_numpy_iterator():
            yield {**b, "source": [s.decode() for s in b["source"]]}
        return
    yield from array_batches(read_arrays(data_dir, split, limit=limit), batch_size)


def array_batches(arrays: dict, batch_size: int) -> Iterator[dict]:
    """Arrays of a split held in memory ({"l", "ab", "source"?, ...}) -> dicts of batches, as batches() yields."""
    for i in range(0, len(arrays["l"]), batch_size):
        yield {k: (list(v[i:i + batch_size]) if k == "source" else v[i:i + batch_size]) for k, v in arrays.items()}
