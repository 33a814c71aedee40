import csv
import math

from PIL import Image

from gankit.track import plot_losses, write_loss_table


def records():
    out = []
    for s in range(0, 501, 50):
        out.append({"step": s, "d_real": 0.7 - s / 2000, "d_fake": 0.6 + s / 3000, "d_loss": 1.3 - s / 6000,
                    "g_loss": 0.9 + s / 1000 + 1e-7, "d_x": 0.5 + s / 2000, "d_g_z": 0.5 - s / 2000,
                    "img_per_s": 1000.0, "elapsed_s": s / 10.0})
    out[3].pop("d_fake")       # missing key -> blank / skipped
    out[4]["extra"] = "kept"
    return out


def test_plot_losses_png(tmp_path):
    path = tmp_path / "sub" / "loss_curve.png"
    plot_losses(records(), path)
    with Image.open(path) as im:
        assert im.format == "PNG"
        w, h = im.size
        im.load()
    assert 600 <= w <= 2000 and 250 <= h <= 1000 and w > h
    assert [p.name for p in path.parent.iterdir()] == ["loss_curve.png"]


def test_plot_losses_tolerates_empty_and_sparse(tmp_path):
    plot_losses([], tmp_path / "empty.png")
    plot_losses([{"step": 1, "g_loss": float("nan")}, {"step": 2}], tmp_path / "sparse.png")
    for name in ("empty.png", "sparse.png"):
        with Image.open(tmp_path / name) as im:
            assert im.format == "PNG"


def test_loss_table(tmp_path):
    recs = records()
    steps = [0, 150, 200, 500, 9999]
    md, csv_path = tmp_path / "loss_table.md", tmp_path / "loss_table.csv"
    rows = write_loss_table(recs, steps, md, csv_path)
    assert [r["step"] for r in rows] == [0, 150, 200, 500]

    keys = ["d_real", "d_fake", "d_loss", "g_loss", "d_x", "d_g_z"]
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        body = list(reader)
    assert header == ["step"] + keys
    assert len(body) == 4
    by_step = {r["step"]: r for r in recs}
    for line in body:
        src = by_step[int(line[0])]
        for key, cell in zip(keys, line[1:]):
            if key in src:
                assert float(cell) == src[key]  # exact round trip
            else:
                assert cell == ""
    assert body[1][2] == ""  # step 150 lacks d_fake

    lines = md.read_text().splitlines()
    assert len(lines) == 2 + 4
    assert len({len(line) for line in lines}) == 1  # aligned
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == ["step", "D real", "D fake", "D total", "G", "D(x)", "D(G(z))"]
    assert set(lines[1]) <= set("|-:")
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        src = by_step[int(cells[0])]
        for key, cell in zip(keys, cells[1:]):
            assert cell == (f"{src[key]:.4f}" if key in src else "")
            if cell:
                assert math.isclose(float(cell), src[key], abs_tol=5e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss_table.csv", "loss_table.md"]


def test_loss_table_empty(tmp_path):
    rows = write_loss_table([], [100], tmp_path / "t.md", tmp_path / "t.csv")
    assert rows == []
    assert (tmp_path / "t.csv").read_text() == "step,d_real,d_fake,d_loss,g_loss,d_x,d_g_z\n"
    assert len((tmp_path / "t.md").read_text().splitlines()) == 2
