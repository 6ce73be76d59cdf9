"""Put first on PYTHONPATH by the JAX-backend test: any `import tensorflow` fails as on a machine
without TensorFlow, so a stage that needs it where it should not shows up."""
raise ImportError("TensorFlow is not installed here (tests/no_tensorflow): the JAX path must not need it")
