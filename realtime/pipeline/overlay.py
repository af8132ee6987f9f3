"""Drawing the hunter's view on a frame, in the source notebook's style.

Orange circle on the target, yellow class label, red line from the crosshair (the frame centre) to
the aim point; thin boxes around every detection.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.detection.detections import Detections, target_point

ORANGE, YELLOW, RED, WHITE = (0, 140, 255), (0, 230, 255), (0, 0, 230), (255, 255, 255)
CLASS_COLOURS = {"chicken": (0, 230, 255), "pig": (203, 160, 255), "panda": (200, 200, 200)}
FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_detections(frame: np.ndarray, detections: Detections) -> None:
    """Thin class-coloured boxes with 'label score' captions, drawn in place."""
    for (x0, y0, x1, y1), name, score in zip(detections.xyxy.astype(int), detections.names, detections.score):
        colour = CLASS_COLOURS.get(name, WHITE)
        cv2.rectangle(frame, (x0, y0), (x1, y1), colour, 1, cv2.LINE_AA)
        put_label(frame, f"{name} {score:.2f}", (x0, y0 - 4), colour)


def draw_aim(frame: np.ndarray, point: tuple[float, float] | None, label: str = "chicken") -> None:
    """Crosshair at the frame centre; with an aim point, a red line to it, an orange circle and a yellow label."""
    h, w = frame.shape[:2]
    centre = (w // 2, h // 2)
    arm = max(4, min(w, h) // 40)
    cv2.line(frame, (centre[0] - arm, centre[1]), (centre[0] + arm, centre[1]), WHITE, 1, cv2.LINE_AA)
    cv2.line(frame, (centre[0], centre[1] - arm), (centre[0], centre[1] + arm), WHITE, 1, cv2.LINE_AA)
    if point is None:
        return
    target = (int(round(point[0])), int(round(point[1])))
    radius = max(6, min(w, h) // 24)
    cv2.line(frame, centre, target, RED, 2, cv2.LINE_AA)
    cv2.circle(frame, target, radius, ORANGE, 2, cv2.LINE_AA)
    # beside the circle at its middle: level with its top, it ran into the box caption above the target
    put_label(frame, label, (target[0] + radius + 3, target[1] + 5), YELLOW, scale=0.6)


def put_label(frame: np.ndarray, text: str, origin: tuple[int, int], colour, scale: float = 0.4) -> None:
    """Text with a dark outline so it reads on sky and grass alike.

    The outline is the text drawn dark one pixel off in each direction: drawn thicker instead,
    OpenCV 5 uses a bolder, wider face, and the two layers drift apart along the line.
    """
    (width, _), _ = cv2.getTextSize(text, FONT, scale, 1)
    x = max(0, min(origin[0], frame.shape[1] - width - 1))   # kept inside the frame, not cut at its edge
    y = max(origin[1], 12)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        cv2.putText(frame, text, (x + dx, y + dy), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(frame, text, (x, y), FONT, scale, colour, 1, cv2.LINE_AA)


def hunter_view(frame: np.ndarray, detections: Detections, point, out: np.ndarray | None = None) -> np.ndarray:
    """`frame` with the detections and the hunter's aim drawn on it: a copy, or in `out` (same shape)."""
    if out is None:
        out = frame.copy()
    else:
        out[...] = frame
    draw_detections(out, detections)
    draw_aim(out, point)
    draw_top_classes(out, detections.top_classes)
    return out


def draw_top_classes(frame: np.ndarray, top: tuple) -> None:
    """A whole-frame classifier's most likely classes and their probabilities, bottom left, the likeliest on top."""
    for row, (name, probability) in enumerate(top):
        put_label(frame, f"{name} {probability:.2f}", (8, frame.shape[0] - 10 - 16 * (len(top) - 1 - row)), WHITE,
                  scale=0.45)


def blend_heatmap(frame: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """`frame` with a [0, 1] map (any resolution) laid over it in the jet colormap."""
    h, w = frame.shape[:2]
    heat = cv2.resize(heat, (w, h), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(frame, 1 - alpha, colours, alpha, 0)


def before_panel(result, heat: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """The hunter's view of a FrameResult's clean frame, titled BEFORE; `heat` is the clean frame's own
    map. Drawn in `out` when given."""
    clean = result.frame if heat is None else blend_heatmap(result.frame, heat)
    panel = hunter_view(clean, result.before, target_point(result.before), out)
    put_label(panel, "BEFORE", (8, 20), WHITE, scale=0.55)
    return panel


def defended_frame(result) -> np.ndarray:
    """A FrameResult's defended frame as it goes out: blocks, decoys and the heatmap if any, without
    the hunter's overlay (for a virtual camera, or a batch's clean output)."""
    return result.defended if result.heatmap is None else blend_heatmap(result.defended, result.heatmap)


def after_panel(result, mode: str, out: np.ndarray | None = None) -> np.ndarray:
    """The hunter's view of a FrameResult's defended frame, with its heatmap if any, titled with the
    mode. Drawn in `out` when given."""
    panel = hunter_view(defended_frame(result), result.after, target_point(result.after), out)
    put_label(panel, f"AFTER: {mode}", (8, 20), WHITE, scale=0.55)
    return panel


def side_by_side(result, mode: str, fps: float | None = None, before_heat: np.ndarray | None = None) -> np.ndarray:
    """BEFORE (left) and AFTER (right) panels. The defended frame's heatmap goes on the right only: on
    the clean frame it would show the defence's heat over undefended chickens."""
    h, w = result.frame.shape[:2]
    both = np.empty((h, 2 * w, 3), np.uint8)   # each panel drawn in its half: no copy to join them
    before_panel(result, before_heat, both[:, :w])
    after = after_panel(result, mode, both[:, w:])
    if fps is not None:
        put_label(after, f"{fps:5.1f} FPS", (after.shape[1] - 90, 20), WHITE, scale=0.5)
    return both


def output_view(result, mode: str, view: str = "side-by-side") -> np.ndarray:
    """One of OUTPUT_VIEWS of a FrameResult: both panels, the AFTER panel alone, or the bare defended frame."""
    if view == "side-by-side":
        return side_by_side(result, mode)
    return after_panel(result, mode) if view == "after" else defended_frame(result)
