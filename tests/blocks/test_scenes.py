import numpy as np
import pytest
import torch

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from blocks.paste import FOOTPRINT_GROWTH, block_bgr, shuffled
from blocks.scenes import (
    GRID,
    STRIDE,
    WINDOW,
    counted_windows,
    frame_scenes,
    not_chicken_loss,
    paste_in_scenes,
    placements,
    render_scenes,
    scene_success_rate,
)
from engine.detection.hunter import HunterDetector
from engine.models import HUNTER_LABELS, load_classifier
from farm.patches import world_scenes
from farm.world import FarmWorld
from realtime.pipeline.defended import pipeline_for

CHICKEN = HUNTER_LABELS.index("chicken")


@pytest.fixture(scope="module")
def detector():
    hunter = load_classifier("hunter", device="cpu")
    for p in hunter.parameters():
        p.requires_grad_(False)
    return HunterDetector(hunter)


@pytest.fixture(scope="module")
def library():
    return BlockLibrary.load(DEFAULT_LIBRARY, HUNTER_LABELS, 25)


def camouflage(library):
    """The terrain block the pipeline pastes at its default size."""
    return next(b for b in library.of_purpose("camouflage") if b.target == "terrain" and b.fractions[0] <= 1.2)


def counted_chickens(animals) -> np.ndarray:
    return np.array([a.xyxy for a in animals if a.label == "chicken" and a.height >= 20 and a.visible >= 0.5])


def test_a_pasted_scene_looks_like_the_pipelines_defended_frame(detector, library):
    """The optimiser's paste lands where the pipeline's does: each scene with the block pasted is far
    closer to the same cut of the really defended frame than the clean scene is."""
    pipeline = pipeline_for(detector, library, "camouflage")
    cover = pipeline.defences[0]
    block = torch.from_numpy(np.ascontiguousarray(cover.block[..., ::-1])).permute(2, 0, 1).float() / 255
    pasted_error, clean_error = 0.0, 0.0
    for i in (0, 120, 280):
        frame, animals = FarmWorld(seed=4242).render(i)
        chickens = counted_chickens(animals)
        clean = frame_scenes(detector, frame, chickens)
        defended = frame_scenes(detector, pipeline(frame).defended, chickens)
        squares = placements(clean, torch.arange(len(clean)), cover.fraction)
        pasted = paste_in_scenes(block[None], clean.crops, squares)
        pasted_error += float((pasted - defended.crops).abs().mean())
        clean_error += float((clean.crops - defended.crops).abs().mean())
    assert pasted_error < 0.5 * clean_error     # 0.27 measured


def test_scenes_show_each_counted_chicken_inside_its_crop(detector):
    frame, animals = FarmWorld(seed=4242).render(120)
    scenes = frame_scenes(detector, frame, counted_chickens(animals))
    assert len(scenes) >= len(counted_chickens(animals))    # one per pyramid level that shows it
    side = scenes.crops.shape[-1]
    centres = (scenes.boxes[:, :2] + scenes.boxes[:, 2:]) / 2
    assert torch.all((centres - side / 2).abs() <= 1)
    assert torch.all(scenes.blocks[:, 0, 2] > 0)            # the detector found each and a block covers it


def test_the_shipped_camouflage_block_hides_chickens_of_an_unseen_world_and_its_shuffle_does_not(detector, library):
    scenes = world_scenes(detector, [3001], frames_per_world=8, seed=5, offset=False)
    chosen = camouflage(library)
    block = chosen.pixels
    control = shuffled(block_bgr(block), border=chosen.border)
    control = torch.from_numpy(np.ascontiguousarray(control[..., ::-1])).permute(2, 0, 1) / 255
    hunter = detector.classifier
    assert len(scenes) >= 15
    assert scene_success_rate(hunter, block, scenes, CHICKEN, 1.2) >= 0.8              # 0.84 measured
    assert scene_success_rate(hunter, control.float(), scenes, CHICKEN, 1.2) <= 0.6    # 0.35


def test_a_window_centred_on_a_blocks_edge_beside_the_chicken_counts_as_the_chicken():
    """The hunter that aims at the edge of a block covering a chicken has found it: the optimiser
    must see those windows, not only the ones centred in the chicken's box."""
    centres = STRIDE * np.arange(GRID) + WINDOW / 2
    box = torch.tensor([[centres[3] - 5, centres[3] - 5, centres[3] + 5, centres[3] + 5]])
    side = 2 * (centres[5] - centres[3]) / FOOTPRINT_GROWTH * 1.02   # the grown square just reaches two windows out
    squares = torch.tensor([[[centres[3], centres[3], side], [0, 0, 0], [0, 0, 0], [0, 0, 0]]], dtype=torch.float32)
    with_block = counted_windows(box, squares, 0, 0)[0]
    alone = counted_windows(box, torch.zeros_like(squares), 0, 0)[0]
    assert alone[3, 3] and alone.sum() == 1
    assert with_block[3, 5] and with_block[5, 5] and with_block[1, 3]       # on the block's edge and corner
    assert not with_block[3, 6] and with_block.sum() == 25


def test_scene_gradients_reach_the_block(detector):
    frame, animals = FarmWorld(seed=4242).render(0)
    scenes = frame_scenes(detector, frame, counted_chickens(animals))
    block = torch.full((1, 3, 25, 25), 0.5, requires_grad=True)
    images, counted = render_scenes(block, scenes, torch.arange(len(scenes)), torch.Generator().manual_seed(0))
    assert counted.any()
    not_chicken_loss(detector.classifier.dense_logits(images), counted, CHICKEN).backward()
    assert block.grad.abs().sum() > 0


def test_not_chicken_loss_is_minus_log_of_the_other_classes_probability():
    logits = torch.tensor([[2.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]])[:, :, None, None]
    counted = torch.tensor([True, False])[:, None, None]
    p_chicken = torch.tensor([2.0, 0.0, 0.0, 1.0]).softmax(0)[0]
    assert not_chicken_loss(logits, counted, 0).item() == pytest.approx(-torch.log(1 - p_chicken).item(), rel=1e-5)
