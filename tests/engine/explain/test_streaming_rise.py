import torch

from engine.explain import StreamingRise, rise
from tests.engine.explain.test_rise import image, tiny_classifier


def stream(**settings):
    return StreamingRise(tiny_classifier(), (24, 32), target=1, n=64, s=4, per_frame=8,
                         generator=torch.Generator().manual_seed(0), **settings)


def test_a_still_frame_converges_to_the_full_rise_map():
    live, x = stream(decay=1.0), image()
    for _ in range(8):            # 8 frames x 8 masks: the whole bank once
        current = live.update(x)
    torch.testing.assert_close(current, rise(live.model, x, masks=live.masks, target=1), rtol=1e-5, atol=1e-6)


def test_with_decay_the_map_stays_close_to_the_full_map():
    live, x = stream(), image()
    for _ in range(40):
        current = live.update(x)
    full = rise(live.model, x, masks=live.masks, target=1)
    assert torch.corrcoef(torch.stack([current.flatten(), full.flatten()]))[0, 1] > 0.95


def test_a_scene_cut_starts_afresh():
    live = stream()
    for _ in range(5):
        live.update(image(seed=1))
    assert live.cuts == 0
    new_scene = 1 - image(seed=2)
    after_cut = live.update(new_scene)
    assert live.cuts == 1
    fresh = stream()
    fresh.cursor = 40             # the same 8 masks as the cut frame used
    torch.testing.assert_close(after_cut, fresh.update(new_scene))


def test_colour_range_moves_slowly():
    live, x = stream(estimator="paper"), image()     # its map is proportional to its total
    live.colours.rate = 0.1
    live.update(x)
    first = live.normalised()
    assert first.min() >= 0 and first.max() <= 1
    low, high = live.colours.low, live.colours.high
    live.total = live.total * 3   # the evidence suddenly triples
    brighter = live.normalised()
    assert live.colours.high < low + 0.5 * (3 * high - low)   # moved only part of the way
    assert brighter.max() == 1.0                              # clipped, not rescaled at once


def test_a_shared_colour_range_is_followed_only_by_its_owner():
    owner, x = stream(), image()
    reader = stream(colours=owner.colours, follow_colours=False)
    owner.update(x)
    owner.normalised()
    before = (owner.colours.low, owner.colours.high)
    reader.update(x * 0.1)
    dim = reader.normalised()
    assert (owner.colours.low, owner.colours.high) == before
    torch.testing.assert_close(dim, owner.colours.scale(reader.map))
