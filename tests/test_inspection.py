"""floe.inspection on real icechunk repositories (in memory): refs, history paging, trees, diffs,
and previews that never read more than their limit."""

from __future__ import annotations

import icechunk
import numpy as np
import pytest
import zarr

from floe import inspection
from floe.errors import NotFoundError, ValidationError


@pytest.fixture(scope="module")
def repo() -> icechunk.Repository:
    repository = icechunk.Repository.create(icechunk.in_memory_storage())
    session = repository.writable_session("main")
    root = zarr.group(session.store)
    big = root.create_array(
        "big", shape=(3, 400, 600), chunks=(1, 100, 100), dtype="f8", dimension_names=("time", "y", "x")
    )
    big[:] = np.arange(3 * 400 * 600, dtype="f8").reshape(3, 400, 600)
    root.create_array("names", shape=(2,), dtype=str)
    first = session.commit("big array", metadata={"author_name": "Ann", "author_email": "ann@example.org"})
    for i in range(5):
        session = repository.writable_session("main")
        zarr.open_array(session.store, path="big")[0, 0, i] = -1
        session.commit(f"edit {i}")
    repository.create_tag("v1", first)
    return repository


def test_refs_and_history_pages(repo):
    assert [b.name for b in inspection.list_branches(repo)] == ["main"]
    (tag,) = inspection.list_tags(repo)
    assert tag.name == "v1" and tag.message == "big array"
    page = inspection.history(repo, "main", limit=2)
    assert [e.message for e in page.entries] == ["edit 4", "edit 3"] and page.more
    last = inspection.history(repo, "main", limit=5, skip=5)
    assert [e.message for e in last.entries] == ["big array", "Repository initialized"] and not last.more
    assert last.entries[0].author_name == "Ann" and last.entries[0].author_email == "ann@example.org"
    by_id = inspection.history(repo, tag.snapshot_id, limit=10)
    assert by_id.snapshot_id == tag.snapshot_id and len(by_id.entries) == 2
    with pytest.raises(ValidationError, match="limit must be between 1 and 500"):
        inspection.history(repo, "main", limit=0)
    with pytest.raises(NotFoundError, match=r"no branch, tag or snapshot 'AAAAAAAAAAAAAAAAAAAA'"):
        inspection.history(repo, "AAAAAAAAAAAAAAAAAAAA")


def test_tree_and_diff(repo):
    root = inspection.tree(repo, "main", depth=None).node
    assert [(c.path, c.kind) for c in root.children] == [("/big", "array"), ("/names", "array")]
    big = inspection.tree(repo, "main", "big").node
    assert big.shape == [3, 400, 600] and big.chunk_shape == [1, 100, 100] and big.chunks_total == 72
    assert big.dimension_names == ["time", "y", "x"] and "zstd" in big.codecs
    assert big.stored_bytes and big.stored_bytes > 0
    with pytest.raises(ValidationError, match="invalid node path"):
        inspection.tree(repo, "main", "a/../b")
    change = inspection.diff(repo, "v1", "main")
    assert change.chunks_written == {"/big": 1} and not change.new_arrays
    assert inspection.diff(repo, "main", "main").empty


def test_previews_stay_within_their_limit(repo):
    limit = 4 * 100 * 100 * 8  # four decoded chunks
    fitted, clipped = inspection.plan_selection((3, 400, 600), (1, 100, 100), 8, None, limit)
    assert clipped and fitted[0] == 0
    rows, cols = fitted[1], fitted[2]
    touched = -(-rows.stop // 100) * -(-cols.stop // 100)
    assert touched <= 4

    preview = inspection.read_preview(repo, "main", "big", "2, 0:400, 0:600", limit=limit)
    assert preview.clipped and preview.data.nbytes <= limit
    expected = np.arange(3 * 400 * 600, dtype="f8").reshape(3, 400, 600)[2]
    rows, cols = preview.data.shape
    assert np.array_equal(preview.data, expected[:rows, :cols])
    assert preview.fixed == ["time = 2"] and [a[0] for a in preview.axes] == ["y", "x"]

    line = inspection.read_preview(repo, "main", "big", "1, 5, 10:20")
    everything = np.arange(3 * 400 * 600, dtype="f8").reshape(3, 400, 600)
    assert np.array_equal(line.data, everything[1, 5, 10:20]) and line.selection == "1, 5, 10:20"
    with pytest.raises(ValidationError, match="more than the preview limit"):
        inspection.read_preview(repo, "main", "big", None, limit=1000)
    with pytest.raises(ValidationError, match="numbers only"):
        inspection.read_preview(repo, "main", "names")
