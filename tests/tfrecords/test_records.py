"""The record writer needs no TensorFlow, yet TensorFlow's own parser reads exactly what it wrote."""
import numpy as np

from tfrecords import contract as c
from tfrecords import records


def test_hand_written_example_is_what_tensorflow_writes_and_parses(photos):
    import tensorflow as tf
    from basics import view
    l_q, ab_q, _ = view.training_example(photos["coffee"], 24)
    emb = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    for embedding in (None, emb):
        ours = records.encode_example("scans/caf\u00e9 1940.jpg", l_q, ab_q, embedding)
        feature = {
            c.KEY_L: tf.train.Feature(bytes_list=tf.train.BytesList(value=[l_q.tobytes()])),
            c.KEY_AB: tf.train.Feature(bytes_list=tf.train.BytesList(value=[ab_q.tobytes()])),
            c.KEY_HEIGHT: tf.train.Feature(int64_list=tf.train.Int64List(value=[24])),
            c.KEY_WIDTH: tf.train.Feature(int64_list=tf.train.Int64List(value=[24])),
            c.KEY_SOURCE: tf.train.Feature(bytes_list=tf.train.BytesList(value=["scans/caf\u00e9 1940.jpg".encode()])),
        }
        if embedding is not None:
            feature[c.KEY_EMBEDDING] = tf.train.Feature(float_list=tf.train.FloatList(value=embedding))
        theirs = tf.train.Example(features=tf.train.Features(feature=feature))
        assert tf.train.Example.FromString(ours) == theirs  # the same message, field for field
        info = {"image_size": 24, "embedding": None if embedding is None else
                c.EmbeddingSpec("inception_resnet_v2", "random:1", "0" * 64).to_dict()}
        parsed = records.parse_fn(info)(tf.constant(ours))
        np.testing.assert_array_equal(parsed["l"].numpy(), c.model_l_from_record(l_q[..., None].astype(np.float32)))
        np.testing.assert_array_equal(parsed["ab"].numpy(), c.model_ab_from_record(ab_q.astype(np.float32)))
        if embedding is not None:
            np.testing.assert_array_equal(parsed["embedding"].numpy(), embedding)
        assert records.parse_example(ours)[c.KEY_SOURCE] == ["scans/caf\u00e9 1940.jpg".encode()]
