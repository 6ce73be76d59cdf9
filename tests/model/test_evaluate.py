"""`colorize evaluate` on records and on a photo folder, always beside the grayscale baseline."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import jpeg_bytes, write
from commands import train

pytestmark = pytest.mark.slow  # runs the real command end to end


def test_evaluate_records_writes_metrics_with_baseline_and_comparison(records, tmp_path):
    model_dir = str(tmp_path / "beta")
    train.main(["--model", "beta", "--data", str(records), "--output", model_dir, "--epochs", "1", "--batch-size", "4"])
    r = subprocess.run([sys.executable, "-m", "commands.cli", "evaluate", "--model", model_dir, "--data", str(records),
                        "--split", "val", "--report", str(tmp_path / "report")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    info = json.loads((records / "dataset.json").read_text())
    assert m["images"] == info["counts"]["per_split"]["val"] == len(m["per_image"])
    for key in ("auc", "acc@5", "acc@10", "psnr", "colourfulness"):
        assert key in m["model"] and key in m["grayscale_baseline"]
    assert m["grayscale_baseline"]["colourfulness"] < 1  # ab = 0 is grey
    assert Image.open(tmp_path / "report" / "comparison.png").size[0] > 100


def test_evaluate_photo_folder_at_full_resolution_with_the_shipped_model(tmp_path, photos):
    for name in ("astronaut", "coffee"):
        write(str(tmp_path / "photos" / f"{name}.jpg"), jpeg_bytes(photos[name]))
    grey = np.asarray(Image.fromarray(photos["chelsea"]).convert("L").convert("RGB"))
    write(str(tmp_path / "photos" / "grey.jpg"), jpeg_bytes(grey))
    r = subprocess.run([sys.executable, "-m", "commands.cli", "evaluate", "--images", str(tmp_path / "photos"),
                        "--report", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert m["images"] == 2 and [s["path"].endswith("grey.jpg") for s in m["skipped"]] == [True]
    assert m["model"]["auc"] > m["grayscale_baseline"]["auc"]
    assert m["model"]["colourfulness"] > 5 * m["grayscale_baseline"]["colourfulness"]
