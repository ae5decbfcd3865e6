"""Pictures of trajectories: written for generated and course-format splits."""

import numpy as np

from jepa_world.data.files import open_split
from jepa_world.data.show import show_trajectories


def test_writes_a_png_for_generated_and_course_format_splits(tiny_data, tmp_path):
    out = show_trajectories(str(tiny_data), "probe_wall/val", n=3, out=str(tmp_path / "a.png"))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a course-format train/: no layouts.npy, no locations.npy, float32 states
    course = tmp_path / "course" / "train"
    course.mkdir(parents=True)
    split = open_split(tiny_data / "train")
    np.save(course / "states.npy", split.states[:5])
    np.save(course / "actions.npy", split.actions[:5])
    out = show_trajectories(str(tmp_path / "course"), n=10, out=str(tmp_path / "b.png"))
    assert out.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == ["a.png", "b.png"]
