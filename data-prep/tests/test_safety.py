"""Nothing the user owns is lost, and no bad value passes silently: --force never replaces an input or
a folder that is not a prepared dataset, killed runs' temporary folders are cleaned, and damaged
table rows (too few fields, an infinite age, a byte-order mark) are named."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import raw_releases as raw
from fairtune_prep import cli
from shards_reader import read_prepared


def run(args: list[str], capsys) -> tuple[int, str]:
    rc = cli.main(args + ["--size", "16", "--quiet"])
    return rc, capsys.readouterr().err


def checksums(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (following no links) with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_force_never_replaces_the_input(tmp_path, capsys):
    root = tmp_path / "data" / "raw"
    raw.ham10000(root)
    before = checksums(tmp_path / "data")
    (tmp_path / "link").symlink_to(root)
    cases = {"is the input": root, "holds the input": tmp_path / "data", "through a link": tmp_path / "link"}
    for what, out in cases.items():
        rc, err = run(["ham10000", "--raw", str(root), "--out", str(out), "--force"], capsys)
        assert rc == 1 and "nothing was deleted" in err and str(out) in err, what
        assert checksums(tmp_path / "data") == before, what
    # --raw given through a link that points inside --out.
    rc, err = run(["ham10000", "--raw", str(tmp_path / "link"), "--out", str(tmp_path / "data"), "--force"], capsys)
    assert rc == 1 and "holds the input" in err and checksums(tmp_path / "data") == before


def test_force_never_replaces_the_images_of_a_table(tmp_path, capsys):
    images = tmp_path / "images"
    raw.save_flat(images / "a.png", (10, 20, 30))
    table = tmp_path / "table.csv"
    table.write_text("file,label,patient\na.png,0,p1\n")
    before = checksums(tmp_path)
    for out in (images, tmp_path, table):
        rc, err = run(["csv", "--table", str(table), "--images", str(images), "--image-column", "file",
                       "--label-column", "label", "--patient-column", "patient", "--out", str(out), "--force"], capsys)
        assert rc == 1 and "nothing was deleted" in err, out
        assert checksums(tmp_path) == before


def test_force_never_replaces_a_dataset_inside_the_input(tmp_path, capsys):
    root = tmp_path / "raw"
    raw.ham10000(root)
    inner = root / "prepared"
    assert run(["ham10000", "--raw", str(root), "--out", str(inner)], capsys)[0] == 0
    before = checksums(root)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(inner), "--force"], capsys)
    assert rc == 1 and "inside the input" in err and checksums(root) == before


def test_force_replaces_only_a_prepared_dataset(tmp_path, capsys):
    root = tmp_path / "raw"
    raw.ham10000(root)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"format": "something else"}')
    (mine / "notes.txt").write_text("precious")
    before = checksums(mine)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(mine), "--force"], capsys)
    assert rc == 1 and "not a prepared dataset" in err and checksums(mine) == before
    afile = tmp_path / "afile"
    afile.write_text("precious")
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(afile), "--force"], capsys)
    assert rc == 1 and "not a prepared dataset" in err and afile.read_text() == "precious"


def test_killed_runs_temporary_folders_are_removed(tmp_path, capsys):
    root = tmp_path / "raw"
    raw.ham10000(root)
    host, dead, alive = socket.gethostname(), dead_pid(), os.getppid()
    stale = [f".out.tmp-{host}-{dead}", f".out.old-{host}-{dead}", f".out.tmp-{dead}"]
    kept = [f".out.tmp-{host}-{alive}", f".out.tmp-another-host-{dead}", f".other.tmp-{host}-{dead}"]
    for name in stale + kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "shard.h5").write_bytes(b"x" * 1000)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 0
    for name in stale:
        assert not (tmp_path / name).exists() and name in err
    for name in kept:
        assert (tmp_path / name / "shard.h5").exists()


def test_infinite_age_names_file_row_and_column(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.ham10000(root)
    df["age"] = df["age"].astype(object)
    df.loc[7, "age"] = "inf"
    df.to_csv(root / "HAM10000_metadata.csv", index=False)
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv line 9: column 'age'" in err and "finite" in err
    assert "internal" not in err


def test_row_with_too_few_fields_names_the_line(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.ham10000(root)
    lines = (root / "HAM10000_metadata.csv").read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:3])  # lesion_id, image_id, dx: age and sex cut off
    (root / "HAM10000_metadata.csv").write_text("\n".join(lines) + "\n")
    rc, err = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 1 and "HAM10000_metadata.csv line 6: 3 field(s) but the header has 8" in err
    assert len(df.columns) == 8


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path, capsys):
    root = tmp_path / "raw"
    df = raw.ham10000(root)
    df.to_csv(root / "HAM10000_metadata.csv", index=False, encoding="utf-8-sig")
    assert (root / "HAM10000_metadata.csv").read_bytes().startswith(b"\xef\xbb\xbflesion_id")
    rc, _ = run(["ham10000", "--raw", str(root), "--out", str(tmp_path / "out")], capsys)
    assert rc == 0
    manifest, data = read_prepared(tmp_path / "out")
    assert sum(len(data[s]["sample_ids"]) for s in data) == len(df[df["age"].notna() & df["sex"].notna()])
