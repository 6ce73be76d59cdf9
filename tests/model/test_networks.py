"""The three networks: inputs, outputs and the Deep Koalarization layer plan."""
import numpy as np
import pytest

from model import networks


@pytest.mark.parametrize("arch", ["alpha", "beta"])
def test_l_in_ab_out(arch):
    model = networks.build(arch, 64)
    out = np.asarray(model(np.zeros((2, 64, 64, 1), np.float32)))
    assert out.shape == (2, 64, 64, 2) and np.abs(out).max() <= 1


def test_fusion_joins_the_embedding_on_the_encoder_grid():
    model = networks.build("fusion", 224, 1000)
    assert model.get_layer("encoder7").output.shape == (None, 28, 28, 256)
    assert model.get_layer("fusion_concat").output.shape == (None, 28, 28, 256 + 1000)
    assert model.get_layer("fusion").output.shape == (None, 28, 28, 256)
    strides = [model.get_layer(f"encoder{i}").strides[0] for i in range(8)]
    assert strides == [2, 1, 2, 1, 2, 1, 1, 1]
    out = model({"l": np.zeros((1, 224, 224, 1), np.float32), "embedding": np.ones((1, 1000), np.float32)})
    assert tuple(out.shape) == (1, 224, 224, 2)


def test_the_embedding_changes_the_fusion_output():
    model = networks.build("fusion", 32, 10)
    l = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    a = model({"l": l, "embedding": np.zeros((1, 10), np.float32)})
    b = model({"l": l, "embedding": np.full((1, 10), 5, np.float32)})
    assert not np.allclose(np.asarray(a), np.asarray(b))


def test_bad_requests_are_refused():
    with pytest.raises(networks.ModelError, match="multiple of 8"):
        networks.build("beta", 100)
    with pytest.raises(networks.ModelError, match="needs records with embeddings"):
        networks.build("fusion", 64, None)


@pytest.mark.parametrize("arch,emb", [("beta", None), ("fusion", 10)])
def test_skips_join_the_encoders_half_and_quarter_scale_features_to_the_decoder(arch, emb):
    model = networks.build(arch, 64, emb, "classification", skips=True)
    assert model.get_layer("skip4").output.shape == (None, 16, 16, 128 + 256)  # decoder0 up + encoder3
    assert model.get_layer("skip2").output.shape == (None, 32, 32, 64 + 128)   # decoder2 up + encoder1
    plain = networks.build(arch, 64, emb, "classification")
    # only decoder1's and decoder3's kernels grow: 256 x 64 and 128 x 32 more 3x3 taps
    assert model.count_params() - plain.count_params() == 9 * (256 * 64 + 128 * 32)
    l = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    x = l if emb is None else {"l": l, "embedding": np.zeros((1, emb), np.float32)}
    assert tuple(model(x).shape) == (1, 32, 32, model.output.shape[-1])
    with pytest.raises(networks.ModelError, match="skip connections are for beta and fusion"):
        networks.build("alpha", 64, skips=True)


@pytest.mark.parametrize("arch,emb", [("beta", None), ("fusion", 10)])
def test_a_wider_decoder_multiplies_every_decoder_convolution(arch, emb):
    wide = networks.build(arch, 64, emb, "classification", skips=True, width=2)
    plain = networks.build(arch, 64, emb, "classification", skips=True)
    for i, n in enumerate(networks.DECODER_FILTERS):
        assert wide.get_layer(f"decoder{i}").output.shape[-1] == 2 * n
    assert wide.get_layer("skip2").output.shape == (None, 32, 32, 128 + 128)  # decoder2 (2 x 64) up + encoder1
    feeding = 256  # encoder7 (beta) or the fusion layer: the decoder's input

    def decoder_params(f0, f1, f2, f3):  # 3x3 kernels and biases, skips joined; the 1x1 bins head
        return (9 * feeding * f0 + f0 + 9 * (f0 + 256) * f1 + f1 + 9 * f1 * f2 + f2 + 9 * (f2 + 128) * f3 + f3
                + f3 * 261 + 261)
    assert wide.count_params() - plain.count_params() == (
        decoder_params(256, 128, 128, 64) - decoder_params(128, 64, 64, 32))
    l = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 1)).astype(np.float32)
    x = l if emb is None else {"l": l, "embedding": np.zeros((1, emb), np.float32)}
    assert tuple(wide(x).shape) == (1, 32, 32, 261)
    for bad in (0, 5, 1.5):
        with pytest.raises(networks.ModelError, match="decoder width .* must be a whole number from 1 to 4"):
            networks.build(arch, 64, emb, "classification", width=bad)
    with pytest.raises(networks.ModelError, match="a wider decoder is for beta and fusion"):
        networks.build("alpha", 64, width=2)


def test_train_takes_the_decoder_width_and_refuses_it_where_it_means_nothing(capsys):
    from commands import train
    args = train.parse_args(["--architecture", "beta", "--data", "d", "--output", "o", "--skips", "--decoder-width", "2"])
    assert train.recipe_of(args).decoder_width == 2 and train.recipe_of(args).skips
    assert train.recipe_of(train.parse_args(["--architecture", "beta", "--data", "d", "--output", "o"])).decoder_width == 1
    for argv, says in ((["--architecture", "alpha", "--image", "p.jpg", "--output", "o", "--decoder-width", "2"],
                        "--decoder-width is for beta and fusion"),
                       (["--architecture", "beta", "--data", "d", "--output", "o", "--decoder-width", "5"],
                        "--decoder-width goes from 1 to 4")):
        with pytest.raises(SystemExit):
            train.parse_args(argv)
        assert says in capsys.readouterr().err


def test_the_context_branch_lets_the_whole_photo_reach_every_pixel():
    """Without it a pixel's colour sees ~110 px around it; with it, a change in one corner of a 256 px photo
    reaches the opposite corner, through a vector of CONTEXT_UNITS joined back by a 1x1 convolution."""
    plain = networks.build("beta", 256, head="classification")
    ctx = networks.build("beta", 256, head="classification", context=True)
    u, f = networks.CONTEXT_UNITS, networks.FUSION_FILTERS
    assert ctx.count_params() - plain.count_params() == 256 * u + u + (256 + u) * f + f
    ctx.set_weights([np.random.default_rng(i).normal(0, 0.05, w.shape).astype(np.float32)
                     for i, w in enumerate(ctx.get_weights())])  # biases too: no unit dead at the start
    l = np.random.default_rng(9).uniform(-1, 1, (1, 256, 256, 1)).astype(np.float32)
    changed = l.copy()
    changed[:, :32, :32] = 1.0  # a white patch in the top-left corner
    for model, reaches in ((plain, False), (ctx, True)):
        far = np.abs(np.asarray(model(changed)) - np.asarray(model(l)))[0, -16:, -16:]  # bottom-right, 1/2 scale
        assert (far.max() > 1e-6) == reaches


def test_train_takes_context_for_beta_alone(capsys):
    from commands import train
    assert train.recipe_of(train.parse_args(["--architecture", "beta", "--data", "d", "--output", "o", "--context"])).context
    assert not train.recipe_of(train.parse_args(["--architecture", "beta", "--data", "d", "--output", "o"])).context
    for argv in (["--architecture", "alpha", "--image", "p.jpg", "--output", "o", "--context"],
                 ["--architecture", "fusion", "--data", "d", "--output", "o", "--context"]):
        with pytest.raises(SystemExit):
            train.parse_args(argv)
        assert "--context is for beta" in capsys.readouterr().err
    with pytest.raises(networks.ModelError, match="a context branch is for beta"):
        networks.build("fusion", 64, 8, context=True)


def test_a_pretrained_encoder_starts_from_imagenet_and_joins_every_scale():
    from model import efficientnet
    model = networks.build("beta", 64, head="classification", encoder="efficientnet-lite0")
    state = efficientnet.read_state_dict(efficientnet.weights_file("efficientnet-lite0"))
    np.testing.assert_array_equal(model.get_layer("stem").get_weights()[0],
                                  state["_conv_stem.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(model.get_layer("block7_depthwise").get_weights()[0],
                                  state["_blocks.7._depthwise_conv.weight"].transpose(2, 3, 0, 1))
    np.testing.assert_array_equal(model.get_layer("block15_project_bn").get_weights()[3],
                                  state["_blocks.15._bn2.running_var"])
    for scale, (size, channels) in {16: (4, 112), 8: (8, 40), 4: (16, 24), 2: (32, 16)}.items():
        assert model.get_layer(f"skip{scale}").output.shape[1:] == (size, size, networks.PRETRAINED_DECODER[
            [s for s, _ in networks.PRETRAINED_DECODER].index(scale * 2)][1] + channels)
    from model import quantized
    assert model.output.shape == (None, 32, 32, quantized.NUM_BINS)  # half size, as the loss wants
    assert "_fc" not in str([w.path for w in model.weights])  # the classifier head is left out


def test_the_grey_input_is_the_photo_imagenet_networks_expect():
    from model import efficientnet
    from tfrecords import contract as c
    from basics.lab import grey_rgb_from_lightness
    l = np.linspace(0, 100, 64, dtype=np.float32).reshape(1, 8, 8)
    ours = np.asarray(networks.ImageNetGrey()(c.scale_l(l)[..., None]))
    by_hand = efficientnet.normalise(grey_rgb_from_lightness(l).astype(np.float32) / 255.0)
    np.testing.assert_allclose(ours, by_hand, atol=0.5 / 255 / 0.224)  # within half a grey level


@pytest.mark.parametrize("mode", networks.ENCODER_TRAINING)
def test_encoder_training_modes_freeze_what_they_say(mode):
    from keras import layers
    model = networks.build("beta", 64, head="classification", encoder="efficientnet-lite0", encoder_training=mode,
                           imagenet=False)
    learning = {layer.name for layer in model.layers if layer.trainable and layer.weights}
    assert not any(isinstance(model.get_layer(n), layers.BatchNormalization) for n in learning)
    assert "decoder2" in learning and "ab_bins" in learning
    assert ("stem" in learning) == (mode == "finetune")
    assert ("block4_project" in learning) == (mode == "finetune")  # the last block at 1/8
    assert ("block5_expand" in learning) == (mode != "frozen")


def test_pretrained_encoders_refuse_what_they_cannot_do():
    with pytest.raises(networks.ModelError, match="multiple of 32"):
        networks.build("beta", 48, encoder="efficientnet-lite0", imagenet=False)
    with pytest.raises(networks.ModelError, match="for beta"):
        networks.build("fusion", 64, 10, encoder="efficientnet-lite0")
    with pytest.raises(networks.ModelError, match="--skips"):
        networks.build("beta", 64, skips=True, encoder="efficientnet-lite0")
