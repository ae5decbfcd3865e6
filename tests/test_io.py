"""Atomic writes: all or nothing, for files and directories."""

import pytest

from jepa_world.io import INCOMPLETE_MARK, atomic_path, atomic_write_text


def test_file_appears_only_on_success(tmp_path):
    target = tmp_path / "sub" / "metrics.txt"
    atomic_write_text(target, "one\n")
    assert target.read_text() == "one\n"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "one\n"  # the old content survives
    assert [p.name for p in target.parent.iterdir()] == ["metrics.txt"]


def test_directory_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "data"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "a.npy").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "b.npy").write_text("new")
            raise KeyboardInterrupt
    assert sorted(p.name for p in target.iterdir()) == ["a.npy"]
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "b.npy").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.npy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no leftovers


def test_refuses_to_overwrite_when_asked_and_temp_names_are_marked(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("keep")
    with pytest.raises(FileExistsError, match="x.txt"):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("lost")
    assert target.read_text() == "keep"
    with atomic_path(tmp_path / "y.txt") as tmp:
        assert INCOMPLETE_MARK in tmp.name and tmp.name.startswith(".")
        assert tmp.parent == tmp_path
        tmp.write_text("y")


def test_nothing_written_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "z.txt"):
            pass
    assert not (tmp_path / "z.txt").exists()
