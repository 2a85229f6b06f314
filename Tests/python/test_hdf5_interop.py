"""h5py reads back the file the Swift HDF5IO tests write (HDF5WriteTests.writesFileForH5py).

`make test` runs the Swift tests with FAIRTUNE_INTEROP_DIR set, then this test with the same
variable; run alone without it, the test is skipped.
"""
import os
import pathlib

import h5py
import numpy as np
import pytest

INTEROP = os.environ.get("FAIRTUNE_INTEROP_DIR")


@pytest.mark.skipif(INTEROP is None, reason="FAIRTUNE_INTEROP_DIR not set (run through make test)")
def test_h5py_reads_file_written_by_swift():
    path = pathlib.Path(INTEROP) / "swift-written.h5"
    assert path.exists(), f"{path} missing: the Swift test did not write it"
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "fairtune-test"
        assert f.attrs["format_version"] == 1
        images = f["images"]
        assert images.dtype == np.uint8 and images.shape == (4, 3, 2, 3)
        assert images.chunks == (1, 3, 2, 3) and images.compression == "gzip"
        np.testing.assert_array_equal(images[...].ravel(), (np.arange(72) * 11) % 256)
        np.testing.assert_array_equal(images[2:4].ravel(), ((np.arange(36, 72) * 11) % 256))
        assert f["labels"].dtype == np.int64
        np.testing.assert_array_equal(f["labels"][...], [1, 0, 1, 1])
        sex = f["attrs/sex"]
        np.testing.assert_array_equal(sex[...], [0, 1, -1, 1])
        assert list(sex.attrs["groups"]) == ["F", "M"]
        assert [s.decode() for s in f["ids/sample"][...]] == ["s0", "s1", "s2", "ünï"]
        np.testing.assert_array_equal(f["features"][...], np.array([[0.5, 1, 1.5], [2, 2.5, 3]], dtype=np.float32))
        np.testing.assert_array_equal(f["scores"][...], [0.125, -1e300])
