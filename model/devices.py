"""The devices training runs on in sync, on any Keras backend: a tf.distribute strategy on TensorFlow,
keras.distribution.DataParallel on JAX; and how many records each epoch may read so every device gets
a share of every batch."""
import contextlib
import logging

log = logging.getLogger("colorize")


def backend() -> str:
    import keras
    return keras.backend.backend()


def training_devices() -> list:
    """The devices training runs on in sync: all GPUs, else all logical CPUs (TensorFlow) / all JAX devices."""
    if backend() == "tensorflow":
        import tensorflow as tf
        return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if backend() == "jax":
        import jax
        return jax.devices()
    return [None]


def distribution_scope() -> contextlib.AbstractContextManager:
    """A context that places the model on every device of training_devices()."""
    devices = training_devices()
    if backend() == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_logical_devices("GPU")
        if len(devices) > 1:
            strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        elif gpus:
            strategy = tf.distribute.OneDeviceStrategy(gpus[0].name)
        else:
            strategy = tf.distribute.get_strategy()
        log.info("training on %d device(s): %s", strategy.num_replicas_in_sync, [d.name for d in devices])
        return strategy.scope()
    if backend() == "jax":
        import keras
        if len(devices) > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        log.info("training on %d device(s): %s", len(devices), devices)
    return contextlib.nullcontext()


def usable_count(count: int, batch_size: int, replicas: int, training: bool) -> int:
    """How many records of a split an epoch reads, so that every device gets a share of every batch.

    Training reads full batches only (the remainder, a different one each epoch, waits for the next).
    A split smaller than a batch, and validation, keep a last short batch unless it is smaller than
    the device count (a device with an empty share stops the step): then those few are left out.
    """
    rest = count % batch_size
    if (training and count >= batch_size) or rest < replicas:
        return count - rest
    return count
