"""The application's subcommands: detect, demo, batch, gif, live, bench."""

from __future__ import annotations

from realtime.choices import (
    ATTACK_EPS,
    DEFAULT_FRACTION,
    DEMO_SEED,
    ENGINES,
    HEATMAPS,
    MODES,
    OUTPUT_VIEWS,
    PHOTO_DEMO_FRACTION,
    SEGMENT_SECONDS,
)
from realtime.cli.arguments import (
    add_attack_eps,
    add_config,
    add_detector,
    add_device,
    add_fraction,
    add_min_size,
    add_model,
    add_weights,
    handler,
    subcommand,
)
from realtime.cli.types import at_least, block_fraction, not_negative, positive


def add_detect(sub) -> None:
    detect = subcommand(sub, "detect", "write the hunter's view of a video or of the farm world", """
        saviour detect --source world --out out/detect.mp4
        saviour detect --source clip.mp4 --out out/clip_hunter.mp4 --threshold 0.95
        """, handler("detect", "detect"))
    detect.add_argument("--source", default="world", help="'world' or a video file (default: world)")
    detect.add_argument("--out", required=True, help="output MP4 (H.264)")
    detect.add_argument("--frames", type=at_least(1), default=None, help="stop after this many frames (world: 300)")
    detect.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    add_detector(detect)


def add_demo(sub) -> None:
    demo = subcommand(sub, "demo", "the before/after chicken demo on the farm world: MP4, GIF and summary", """
        saviour demo
        saviour demo --frames 150 --fraction 0.6 --out out/
        saviour demo --model efficientnet_lite0 --images photos/ --out out/real   # still photos, a real model
        """, handler("demo", "demo"))
    demo.add_argument("--out", default="out", help="output folder for demo.mp4, demo.gif, demo_summary.json")
    demo.add_argument("--frames", type=at_least(1), default=300, help="frames to run (default: 300, 10 s at 30 FPS)")
    demo.add_argument("--seed", type=int, default=DEMO_SEED,
                      help=f"farm world seed; the default is used by neither training nor block making (default: {DEMO_SEED})")
    demo.add_argument("--fraction", type=block_fraction, default=None,
                      help=f"block or patch side as a fraction of the chicken's box (default: {DEFAULT_FRACTION}; "
                           f"{PHOTO_DEMO_FRACTION} with --images)")
    demo.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    add_weights(demo)
    add_model(demo)
    demo.add_argument("--images", default=None,
                      help="with an ImageNet --model: a folder of photos, each with a chicken filmed by a slow pan "
                           "and zoom")
    demo.add_argument("--photos", type=at_least(1), default=6,
                      help="with --images: the first photos in which the model finds a chicken (default: 6)")
    demo.add_argument("--frames-per-photo", type=at_least(1), default=90,
                      help="with --images: frames of each photo's pan and zoom (default: 90, 3 s)")
    add_config(demo, "configs/demo.yaml")
    demo.add_argument("--cube", action="store_true", help="draw blocks as small 3D cubes instead of flat squares")
    add_attack_eps(demo, "the demo's PGD and noise columns (its FGSM column is the notebook's one step of 32/255)",
                   ATTACK_EPS["pgd"])
    demo.add_argument("--heatmap", default="none", choices=HEATMAPS,
                      help="rise: overlay a live RISE map of the hunter's chicken evidence (an ImageNet --model: its "
                           "class-evidence map) (default: none)")
    add_device(demo)


def add_batch(sub) -> None:
    batch = subcommand(sub, "batch", "run the defended pipeline over video files: annotated MP4, JSONL log, summaries", """
        saviour batch clips/ --out out/batch
        saviour batch 'footage/**/*.mp4' extra.mov --out out/batch --mode decoys --batch-size 16
        saviour batch clips/ --out out/batch --force          # redo inputs that are already done
        saviour batch clips/ --view defended                  # the defended video alone, no overlay
        saviour batch screenshots/                            # a folder of images: one 30 FPS video
        """, handler("batch", "batch"))
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="video files, folders of videos (or of images: one video each) or glob patterns")
    batch.add_argument("--out", default="out/batch",
                       help="output folder: one subfolder per input plus batch_summary.json (default: out/batch)")
    batch.add_argument("--mode", default="camouflage", choices=MODES, help="the defence (default: camouflage)")
    add_attack_eps(batch, "the on-the-fly modes")
    add_fraction(batch)
    batch.add_argument("--batch-size", type=at_least(1), default=8, help="frames per detector pass (default: 8)")
    batch.add_argument("--workers", type=at_least(1), default=2,
                       help="batches detected and defended at once, on threads (default: 2)")
    batch.add_argument("--view", default="side-by-side", choices=OUTPUT_VIEWS,
                       help="the output video: both panels, the AFTER panel, or the defended frames without the "
                            "hunter's overlay, as defended.mp4 (default: side-by-side)")
    batch.add_argument("--heatmap", default="none", choices=HEATMAPS, help="rise: add the live heatmap (default: none)")
    batch.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    add_weights(batch)
    add_model(batch)
    add_min_size(batch)
    batch.add_argument("--force", action="store_true", help="redo inputs whose outputs are already complete")
    batch.add_argument("--segment-seconds", type=not_negative, default=SEGMENT_SECONDS,
                       help="split a longer video into segments of about this many seconds, run one by one "
                            "or, with --engine ray, at once; 0: never split (default: 60)")
    batch.add_argument("--engine", default="local", choices=ENGINES,
                       help="local: this machine; ray: tasks on a Ray cluster (the extra: "
                            "pip install 'deep-chicken-saviour[ray]') (default: local)")
    batch.add_argument("--address", default=None,
                       help="with --engine ray: the cluster, 'auto' (one started on this machine with `ray start`), "
                            "HOST:PORT or ray://HOST:10001 (default: a Ray instance of this run's own)")
    batch.add_argument("--cpus-per-task", type=positive, default=1.0,
                       help="with --engine ray: CPUs each segment's task reserves (default: 1)")
    batch.add_argument("--gpus-per-task", type=not_negative, default=0.0,
                       help="with --engine ray: GPUs each segment's task reserves, such as 0.5 (default: 0)")
    add_config(batch, "configs/batch.yaml")
    add_device(batch)


def add_gif(sub) -> None:
    gif = subcommand(sub, "gif", "a stretch of a video or of the farm world as a looping GIF of the defended view", """
        saviour gif world --duration 5 --out out/world.gif
        saviour gif clip.mp4 --start 12 --duration 4 --fps 10 --width 400 --max-size 2 --out clip.gif
        """, handler("gif", "gif"))
    gif.add_argument("input", metavar="INPUT", help="'world' or a video file")
    gif.add_argument("--out", required=True, help="output GIF")
    gif.add_argument("--start", type=float, default=0.0, help="start time in seconds (default: 0)")
    gif.add_argument("--duration", type=float, default=5.0, help="length in seconds (default: 5)")
    gif.add_argument("--fps", type=float, default=10.0, help="GIF frame rate at most (default: 10)")
    gif.add_argument("--width", type=int, default=480, help="GIF width in pixels (default: 480)")
    gif.add_argument("--max-size", type=float, default=None, help="MB; lower fps and width until it fits")
    gif.add_argument("--mode", default="camouflage", choices=MODES, help="the defence (default: camouflage)")
    add_attack_eps(gif, "the on-the-fly modes")
    add_fraction(gif)
    gif.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    gif.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    add_weights(gif)
    add_model(gif)
    add_min_size(gif)
    add_device(gif)


def add_live(sub) -> None:
    live = subcommand(sub, "live", "the defended view of a camera, screen, stream, video or the farm world, live", """
        saviour live                                   # the farm world in a window
        saviour live --source 0 --heatmap rise         # webcam 0
        saviour live --source screen:0,0,1280,720      # a screen region (e.g. a game window)
        saviour live --source clip.mp4 --no-window --max-frames 300 --record out/clip.mp4
        saviour live --source 0 --virtual-camera         # defended webcam for a video call

        keys: q/Esc (or closing the window) quit, b blocks on/off, d decoys on/off, h heatmap on/off, v cycle view
              (side by side, after, before), space pause, s snapshot PNG, r start/stop recording, ? help
        """, handler("live", "live"))
    live.add_argument("--source", default="world",
                      help="world, a camera index, screen[:x,y,w,h], a stream URL, a video, a folder or glob of images")
    live.add_argument("--no-window", action="store_true", help="run headless (no window, no keys)")
    live.add_argument("--fast", action="store_true",
                      help="in a window, run a video, images or the farm world as fast as the pipeline goes "
                           "instead of at their own frame rate")
    live.add_argument("--max-frames", type=at_least(1), default=None, help="stop after this many frames")
    live.add_argument("--record", default=None, help="record the whole run to this MP4 (and a GIF beside it)")
    live.add_argument("--out-dir", default="out/live", help="where snapshots and r-key recordings go (default: out/live)")
    live.add_argument("--no-blocks", action="store_true", help="start with the blocks off")
    live.add_argument("--decoys", action="store_true", help="start with the decoys on")
    live.add_argument("--heatmap", default="none", choices=HEATMAPS, help="start with the heatmap (default: none)")
    add_fraction(live)
    live.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    live.add_argument("--retries", type=at_least(0), default=3, help="reopen a camera or stream that stops, this often")
    live.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    live.add_argument("--virtual-camera", action="store_true",
                      help="also send the defended frames to a virtual camera (needs the virtualcam extra)")
    live.add_argument("--workers", type=at_least(1), default=2,
                      help="frames detected and defended at once, on threads (default: 2; 1 = lowest latency)")
    add_weights(live)
    add_model(live)
    add_min_size(live)
    add_config(live, "configs/webcam.yaml")
    add_device(live)


def add_bench(sub) -> None:
    bench = subcommand(sub, "bench", "benchmark the world, the detector, the defended pipeline and RISE", """
        saviour bench
        saviour bench --frames 100 --rise-n 1000 --device cpu
        saviour bench --soak 10000                    # adds the memory rows (about 7 minutes)
        saviour bench --blocks                        # adds the default library's generation time
        saviour bench --images photos/                # adds RISE quality against passes on 10 photos
        saviour bench --ray                           # adds batch on Ray against the local engine
        """, handler("bench", "bench"))
    bench.add_argument("--frames", type=int, default=300, help="frames per timing (default: 300)")
    bench.add_argument("--rise-n", type=int, default=4000, help="RISE masks for the RISE rows (default: 4000)")
    bench.add_argument("--soak", type=int, default=0,
                       help="frames of a live run to measure memory growth over, e.g. 10000 (default: 0, off)")
    bench.add_argument("--blocks", action="store_true",
                       help="also time making the default block library with `saviour blocks generate` (minutes)")
    bench.add_argument("--images", default=None, metavar="DIR",
                       help="also measure RISE quality against the model's passes with efficientnet_lite0 on 10 "
                            "photos of DIR, and the time to the source notebook's quality (about 35 minutes)")
    bench.add_argument("--ray", action="store_true",
                       help="also time `saviour batch --engine ray` against the local engine, split against whole, "
                            "and two Ray nodes against one (the [ray] extra; about 6 minutes)")
    add_device(bench)


