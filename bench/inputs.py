"""Inputs that the benchmarks and the test suite both make: the real colour photos that scikit-image and
scikit-learn ship, and zip archives that lie about their members' sizes."""
import os
import re


def real_photos():
    """{name: uint8 RGB} of the six colour photos that scikit-image and scikit-learn ship."""
    import skimage.data
    from sklearn.datasets import load_sample_images
    photos = {n: getattr(skimage.data, n)() for n in ("astronaut", "chelsea", "coffee", "rocket")}
    sk = load_sample_images()
    for path, img in zip(sk.filenames, sk.images, strict=True):
        photos[os.path.splitext(os.path.basename(path))[0]] = img
    return photos


def lie_about_size(path, name, declared):
    """Rewrites a zip member's uncompressed size, in its local header, central directory and zip64
    field, to `declared`: an archive that lies about what a member inflates to."""
    data = bytearray(open(path, "rb").read())
    encoded = name.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        for m in re.finditer(re.escape(sig), data):
            i = m.start()
            n = int.from_bytes(data[i + name_len_at:i + name_len_at + 2], "little")
            if bytes(data[i + name_at:i + name_at + n]) != encoded:
                continue
            if data[i + size_at:i + size_at + 4] != b"\xff" * 4:  # not deferred to the zip64 field
                data[i + size_at:i + size_at + 4] = declared.to_bytes(4, "little")
            extra_len = int.from_bytes(data[i + name_len_at + 2:i + name_len_at + 4], "little")
            j = i + name_at + n
            while j < i + name_at + n + extra_len:  # the zip64 field: the uncompressed size comes first
                tag, size = int.from_bytes(data[j:j + 2], "little"), int.from_bytes(data[j + 2:j + 4], "little")
                if tag == 1:
                    data[j + 4:j + 12] = declared.to_bytes(8, "little")
                j += 4 + size
    open(path, "wb").write(bytes(data))
