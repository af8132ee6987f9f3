"""The pipeline's seams with a detector that is not the hunter: a classifier of a window's mean colour,
run on fixed windows, through the runner with every defence and every sink."""

import json

import av
import numpy as np
import pytest
import torch
from torch import nn

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from engine.detection.windows import WindowDetector
from engine.errors import SaviourError
from realtime.choices import MODES
from realtime.io.sinks import CameraSink, GifSink, JsonlSink, VideoSink
from realtime.live.recorder import Recorder
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.overlay import defended_frame, output_view
from realtime.pipeline.runner import run


class MeanColour(nn.Module):
    """White windows are hens, red ones cocks, the rest ground: linear in a window's mean colour."""

    labels, input_size = ("ground", "hen", "cock"), 8

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)
        with torch.no_grad():   # RGB in [0, 1] -> ground 0, hen 20(r+g+b) - 45, cock 20(r-g-b) - 5
            self.linear.weight.copy_(torch.tensor([[0.0, 0, 0], [20, 20, 20], [20, -20, -20]]))
            self.linear.bias.copy_(torch.tensor([0.0, -45, -5]))

    def forward(self, x):
        return self.linear(x.mean(dim=(2, 3)))


def farmyard(frames: int = 6):
    """Grey frames with a white hen and a red cock, 24 px squares, moving right a pixel a frame."""
    for i in range(frames):
        frame = np.full((120, 160, 3), 102, np.uint8)
        frame[32:56, 24 + i:48 + i] = 255
        frame[64:88, 96 + i:120 + i] = (0, 0, 255)
        yield frame


@pytest.fixture(scope="module")
def detector():
    return WindowDetector(MeanColour().eval(), window=24, stride=4, threshold=0.9,
                          names={"hen": "chicken", "cock": "chicken"}, background=("ground",))


@pytest.fixture(scope="module")
def library():
    return BlockLibrary.load(DEFAULT_LIBRARY, ("chicken", "pig", "panda", "terrain"), 25)


def test_a_classifiers_classes_are_reported_under_the_applications_names(detector):
    [found] = detector([next(farmyard())])
    assert detector.labels == ("chicken",) and found.names == ["chicken", "chicken"]
    centres = sorted(found.centers.tolist())
    np.testing.assert_allclose(centres, [[36, 44], [108, 76]], atol=2)


ON_THE_FLY = ("fgsm", "pgd")    # attacks through the detector's dense logits


@pytest.mark.parametrize("mode", [m for m in MODES if m not in ON_THE_FLY + ("patch", "random-patch")])
def test_every_defence_and_sink_runs_with_another_detector(tmp_path, detector, library, mode):
    pipeline = pipeline_for(detector, library, mode)
    sent = []
    camera = type("Camera", (), {"send": lambda self, frame: sent.append(frame), "close": lambda self: None})()
    results = []
    with (VideoSink(tmp_path / "out.mp4", 30, lambda r: output_view(r, mode)) as video,
          GifSink(tmp_path / "out.gif", 10, lambda r: output_view(r, mode, "after")) as gif,
          JsonlSink(tmp_path / "out.jsonl", lambda r, i: {"frame": i, "after": len(r.after)}) as log,
          CameraSink(camera, defended_frame) as cam):
        recorder = Recorder(tmp_path / "recording.mp4", 30)
        stages = [results.append, video.write, gif.write, log.write, cam.write,
                  lambda r: recorder.write(defended_frame(r))]
        assert run(farmyard(), pipeline.detect_and_defend, stages, workers=2, batch_size=4) == 6
    assert [p.name for p in recorder.close()] == ["recording.mp4", "recording.gif"]
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].frames == 6
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(6)) and len(sent) == 6 and (tmp_path / "out.gif").is_file()
    changed = [np.any(r.defended != r.frame) for r in results]
    assert all(changed) == (mode != "none")
    if mode in ("camouflage", "occlusion"):   # the hen and the cock are covered: the detector loses them
        assert all(len(r.before) == 2 and len(r.after) < 2 for r in results)
    if "decoys" in mode:
        assert all(len(r.decoys) == 2 for r in results)


@pytest.mark.parametrize("mode", ON_THE_FLY)
def test_on_the_fly_attacks_refuse_a_detector_without_dense_logits(detector, library, mode):
    with pytest.raises(SaviourError, match="the on-the-fly attack needs a dense detector such as the hunter's; "
                                           "WindowDetector has no dense logits over a pyramid"):
        pipeline_for(detector, library, mode)


def test_a_class_the_classifier_lacks_is_refused():
    with pytest.raises(SaviourError, match="the classifier has no class 'rooster'"):
        WindowDetector(MeanColour(), 24, 4, names={"rooster": "chicken"})
