"""The offline image measure: the random encoder (fixed, the same in every process), the
k-NN and kernel measures against hand-computed answers, and its ordering on real faces."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from gankit.config import build_config
from gankit.data import load_samples, to_model_units
from gankit.metrics.feature_sets import Pairs, fidelity_diversity, kernel_distance, standardized
from gankit.metrics.frechet import frechet_between
from gankit.metrics.random_features import image_features


def pairs(real, fake) -> Pairs:
    return Pairs.of(torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64))


def test_knn_measures_against_a_hand_count():
    real = [[0.0], [1.0], [2.0], [3.0], [10.0], [11.0]]  # k=1 radii: 1, 1, 1, 1, 1, 1
    fake = [[0.5], [0.6], [20.0]]  # k=1 radii: 0.1, 0.1, 19.4
    found = fidelity_diversity(pairs(real, fake), k=1)
    assert found["precision"] == pytest.approx(2 / 3)  # 0.5 and 0.6 lie in real balls, 20 does not
    assert found["density"] == pytest.approx((2 + 2) / 3)  # each of them in the balls of 0 and 1
    assert found["coverage"] == pytest.approx(2 / 6)  # 0 and 1 have a fake within their radius
    # real points inside some fake ball: 20's ball (19.4) holds 1 (19), 2, 3, 10, 11; 0.5's holds none
    assert found["recall"] == pytest.approx(5 / 6)


def test_identical_sets_are_perfect_and_kid_is_the_unbiased_mmd():
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    same = fidelity_diversity(Pairs.of(x, x.clone()))
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    y = torch.randn(30, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.5
    kernel = lambda a, b: (a @ b / 6 + 1) ** 3  # noqa: E731
    within_x = sum(kernel(x[i], x[j]) for i, j in itertools.permutations(range(40), 2)) / (40 * 39)
    within_y = sum(kernel(y[i], y[j]) for i, j in itertools.permutations(range(30), 2)) / (30 * 29)
    between = sum(kernel(a, b) for a in x for b in y) / (40 * 30)
    assert kernel_distance(Pairs.of(x, y)) == pytest.approx(float(within_x + within_y - 2 * between), rel=1e-6)


def test_the_encoder_is_the_same_in_every_process_and_takes_grey_as_rgb():
    images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    here = image_features(images)
    assert here.shape == (3, 960) and here.dtype == torch.float64
    code = ("import torch, sys; from gankit.metrics.random_features import image_features; "
            "x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1; "
            "sys.stdout.write(repr(image_features(x).sum().item()))")
    there = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert there == pytest.approx(here.sum().item(), rel=1e-9)
    grey = images[:, :1]
    assert torch.allclose(image_features(grey), image_features(grey.expand(-1, 3, -1, -1)))
    uint8 = ((images + 1) * 127.5).round().to(torch.uint8)
    assert torch.allclose(image_features(uint8), image_features(uint8.float() / 127.5 - 1))


@pytest.fixture(scope="module")
def faces(shared_data):
    folder = shared_data / "anime_faces"
    if not folder.is_dir():
        pytest.skip(f"anime faces not found under {shared_data}")
    cfg = build_config("dcgan-faces", [f"data.root={folder}", "data.image_size=32", "data.limit=1400"])
    return load_samples(cfg.data).samples


def test_the_measure_orders_real_blurred_repeated_and_blank_faces(faces):
    """On a tiny set (400 real faces as reference, 300 samples each): held-out faces at the floor;
    blurred, then noisy faces further; a few faces repeated keep their precision and lose their
    recall and coverage; flat grey and saturated images are the furthest."""
    pixels = faces
    reference = image_features(pixels[:400])
    held = to_model_units(pixels[1000:1300])
    noise = torch.randn(held.shape, generator=torch.Generator().manual_seed(0))
    conditions = {
        "held-out": held,
        "blurred": F.interpolate(F.avg_pool2d(held, 4), scale_factor=4, mode="nearest"),
        "noisy": (held + 0.6 * noise).clamp(-1, 1),
        "repeated": to_model_units(pixels[1300:1310]).repeat(30, 1, 1, 1),
        "grey": torch.zeros_like(held),
        "saturated": noise.sign(),
    }
    scores = {}
    for name, images in conditions.items():
        real, fake = standardized(reference, image_features(images))
        pair = Pairs.of(real, fake)
        scores[name] = {"fd": frechet_between(fake, real), "kid": kernel_distance(pair), **fidelity_diversity(pair)}
    fd = {name: s["fd"] for name, s in scores.items()}
    assert fd["held-out"] < fd["blurred"] < fd["noisy"] < min(fd["grey"], fd["saturated"])
    assert fd["held-out"] < fd["repeated"] < min(fd["grey"], fd["saturated"])
    assert scores["held-out"]["kid"] < scores["blurred"]["kid"] < scores["noisy"]["kid"]
    assert scores["repeated"]["precision"] > 0.8 and scores["held-out"]["precision"] > 0.7
    for key in ("recall", "coverage"):
        assert scores["repeated"][key] < 0.2 < scores["held-out"][key]
    for key in ("precision", "recall", "density", "coverage"):
        assert scores["grey"][key] == scores["saturated"][key] == 0.0


def test_images_made_elsewhere_are_measured_as_a_run_is(faces, tmp_path, gankit):
    """`gankit eval --images PATH --against FOLDER`: the same faces as a folder of PNGs, a zip of
    them, a uint8 (N, H, W, C) array and a float (N, C, H, W) array in [-1, 1] get the same
    numbers, which are the measure's own on those pictures; held-out faces score near the real
    floor, blank ones at zero; what cannot be images is one line and exit code 2."""
    import zipfile

    import numpy as np
    from PIL import Image

    from gankit.api import evaluate_images
    from gankit.metrics.evaluate import image_measurements

    def write_folder(folder, pixels):
        folder.mkdir()
        for i, image in enumerate(pixels.permute(0, 2, 3, 1).numpy()):
            Image.fromarray(image).save(folder / f"{i:04d}.png")

    write_folder(tmp_path / "real", faces[:400])
    write_folder(tmp_path / "made", faces[1000:1300])
    with zipfile.ZipFile(tmp_path / "made.zip", "w") as archive:
        for path in sorted((tmp_path / "made").iterdir()):
            archive.write(path, f"faces/{path.name}")
    np.save(tmp_path / "hwc.npy", faces[1000:1300].permute(0, 2, 3, 1).numpy())
    np.save(tmp_path / "chw.npy", to_model_units(faces[1000:1300]).numpy())
    np.save(tmp_path / "blank.npy", np.zeros((300, 32, 32, 3), np.uint8))

    measured = {name: evaluate_images(tmp_path / name, tmp_path / "real", size=32).as_dict()
                for name in ("made", "made.zip", "hwc.npy", "chw.npy", "blank.npy")}
    direct = image_measurements(image_features(to_model_units(faces[1000:1300])),
                                image_features(to_model_units(faces[:400])), "")
    for name in ("made", "made.zip", "hwc.npy", "chw.npy"):
        for m in direct:
            assert measured[name][m.name] == pytest.approx(m.value, rel=1e-4, abs=1e-6), (name, m.name)
    assert measured["made"]["image_precision"] > 0.7 and measured["made"]["image_recall"] > 0.2
    assert measured["blank.npy"]["image_precision"] == measured["blank.npy"]["image_coverage"] == 0.0
    assert measured["blank.npy"]["image_fd"] > 5 * measured["made"]["image_fd"]

    code, out, err = gankit("eval", "--images", str(tmp_path / "hwc.npy"), "--against", str(tmp_path / "real"),
                            "--size", "32", "--samples", "200")
    assert code == 0, err
    assert "image_coverage" in out and "200 images (the first 200 of 300 images of the array" in out
    assert "vs the first 400 images of folder" in out and "random encoder" in out
    np.save(tmp_path / "wide.npy", np.full((10, 3, 8, 8), 3.0, np.float32))
    np.save(tmp_path / "flat.npy", np.zeros((10, 64), np.float32))
    for argv, words in ((["--images", str(tmp_path / "wide.npy"), "--against", str(tmp_path / "real")], "[-1, 1]"),
                        (["--images", str(tmp_path / "flat.npy"), "--against", str(tmp_path / "real")], "shape (10, 64)"),
                        (["--images", str(tmp_path / "made")], "--against"),
                        ([], "name a run"),
                        (["--images", str(tmp_path / "nothing"), "--against", str(tmp_path / "real")], "not found")):
        code, _, err = gankit("eval", *argv)
        assert code == 2 and words in err.strip().splitlines()[-1] and "Traceback" not in err, (argv, err)
