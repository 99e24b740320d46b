"""Fixtures shared by the converter tests: the digits data in NHWC and a small Keras CNN trained on it."""

from __future__ import annotations

import pytest

from edgeport.data.datasets import Dataset


@pytest.fixture(scope="session")
def digits_nhwc(digits_data) -> Dataset:
    d = digits_data
    return Dataset(name="digits-nhwc", inputs={"image": d.inputs["x"].transpose(0, 2, 3, 1).copy()},
                   labels=d.labels, splits=d.splits, source=d.source, preprocessing="pixel/16, NHWC 8×8×1")


@pytest.fixture(scope="session")
def keras_model(tmp_path_factory: pytest.TempPathFactory, digits_nhwc):
    """A Keras 8-channel conv net trained 8 epochs on digits (seeded), saved as ``.keras``."""
    keras = pytest.importorskip("keras")

    from edgeport import load_artifact

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1), name="image"),
                              keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    tr = digits_nhwc.split("train")
    model.fit(tr.inputs["image"], tr.labels, epochs=8, batch_size=32, verbose=0)
    path = tmp_path_factory.mktemp("keras") / "tiny.keras"
    model.save(path)
    return load_artifact(path)
