import tracemalloc

import numpy as np
import pytest

from farm.world import FarmWorld, _Paths, apply_lighting


def test_render_is_deterministic_in_any_order():
    a, b = FarmWorld(seed=3), FarmWorld(seed=3)
    late_first = b.render(40)[0]
    for i in range(41):
        frame, animals = a.render(i)
    np.testing.assert_array_equal(frame, late_first)
    assert [x.xyxy for x in animals] == [x.xyxy for x in b.render(40)[1]]


def test_earlier_frames_are_replayed_exactly_after_later_ones():
    in_order, jumping = FarmWorld(seed=3), FarmWorld(seed=3)
    expected = {i: in_order.render(i) for i in (5, 1500, 2100)}
    for i in (2100, 5, 1500, 2100):     # back across walk snapshots, then forward again
        frame, animals = jumping.render(i)
        np.testing.assert_array_equal(frame, expected[i][0])
        assert animals == expected[i][1]


def test_a_long_run_does_not_keep_every_frames_animal_positions():
    """An endless live run on the world must not fill memory (it kept about 700 bytes a frame)."""
    world = FarmWorld(seed=3)
    world.render(1000)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    world.render(6000)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 100_000, f"{grown} bytes kept over 5000 frames"


def test_an_endless_run_keeps_a_bounded_number_of_walk_snapshots(monkeypatch):
    monkeypatch.setattr(_Paths, "CHECKPOINT", 10)
    monkeypatch.setattr(_Paths, "MAX_SNAPSHOTS", 4)
    world, fresh = FarmWorld(seed=3), FarmWorld(seed=3)
    expected = {i: fresh.render(i) for i in (7, 95, 333)}
    world.render(1000)     # 100 snapshots' worth of frames
    assert len(world._paths._snapshots) <= 4
    for i in (95, 7, 333):     # back to before the snapshots that remain, then between them
        frame, animals = world.render(i)
        np.testing.assert_array_equal(frame, expected[i][0])
        assert animals == expected[i][1]


def test_seeds_differ():
    assert not np.array_equal(FarmWorld(seed=1).render(0)[0], FarmWorld(seed=2).render(0)[0])


def test_frame_shape_sky_and_grass():
    frame, _ = FarmWorld(seed=0, size=(320, 200), chickens=0, pigs=0, pandas=0).render(0)
    assert frame.shape == (200, 320, 3) and frame.dtype == np.uint8
    sky = frame[:20].reshape(-1, 3).mean(0)      # BGR, about #AFC8FF
    assert sky[0] > 230 and 180 < sky[1] < 230 and 160 < sky[2] < 215
    grass = frame[-40:].reshape(-1, 3).mean(0)
    assert grass[1] > grass[0] + 30 and grass[1] > grass[2] + 20


def test_horizon_is_a_fifth_to_a_third_down():
    for seed in range(5):
        frame, _ = FarmWorld(seed=seed, chickens=0, pigs=0, pandas=0).render(0)
        column = frame[:, 320].astype(int)
        horizon = np.argmax(column[:, 1] - column[:, 0] > 0)   # first green-dominant row
        assert 360 / 5 - 2 <= horizon <= 360 / 3


def test_animals_have_labels_boxes_inside_the_frame_and_colours():
    world = FarmWorld(seed=5, chickens=3, pigs=2, pandas=1)
    labels, heights = set(), []
    for i in range(0, 600, 10):
        frame, animals = world.render(i)
        for animal in animals:
            x0, y0, x1, y1 = animal.xyxy
            assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360
            assert 0 < animal.visible <= 1
            labels.add(animal.label)
            heights.append(animal.height)
    assert labels == {"chicken", "pig", "panda"}
    assert min(heights) <= 14 and max(heights) >= 90


def test_pig_is_pink():
    world = FarmWorld(seed=0, chickens=0, pigs=1, pandas=0)
    for i in range(300):
        frame, animals = world.render(i)
        if animals and animals[0].height >= 30 and animals[0].visible == 1:
            x0, y0, x1, y1 = map(int, animals[0].xyxy)
            b, g, r = frame[y0:y1, x0:x1].reshape(-1, 3).astype(int).T
            pink = (r > 200) & (g > 130) & (g < 190) & (b > 130) & (b < 190)
            assert pink.mean() > 0.3
            return
    pytest.fail("no large pig in 300 frames")


def test_animals_move_and_leave_the_frame():
    world = FarmWorld(seed=2)
    counts = [len(world.render(i)[1]) for i in range(0, 3000, 15)]
    assert min(counts) < len(world.species)
    first, later = world.render(0)[1], world.render(60)[1]
    assert [a.xyxy for a in first] != [a.xyxy for a in later]


def test_lighting_and_noise():
    world = FarmWorld(seed=0)
    clean = world.render(0)[0]
    dark = FarmWorld(seed=0, brightness=0.8).render(0)[0]
    assert dark.mean() == pytest.approx(clean.mean() * 0.8, rel=0.02)
    noisy_a = FarmWorld(seed=0, noise=5).render(0)[0]
    noisy_b = FarmWorld(seed=0, noise=5).render(0)[0]
    np.testing.assert_array_equal(noisy_a, noisy_b)
    assert np.std(noisy_a.astype(float) - clean) == pytest.approx(5, rel=0.1)
    tinted = apply_lighting(clean, tint=(1.0, 1.0, 0.5))
    assert tinted[..., 0].mean() < clean[..., 0].mean() * 0.6   # blue halved (BGR order)


def test_iteration_and_length():
    world = FarmWorld(seed=0, frames=4)
    assert len(world) == 4 and len(list(world)) == 4
    assert len(FarmWorld(seed=0)) > 10**9
