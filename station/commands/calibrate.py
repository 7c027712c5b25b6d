"""`station calibrate ...`: the printable board, intrinsics, plane scale, colour and frame quality.

Each step writes (or updates) the calibration file of [calibration] file unless --out says
otherwise. A refusal prints what failed and what to do, and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.commands._args import number, whole
from station.config import Config

if TYPE_CHECKING:
    import numpy as np

    from calibration.board import BoardSpec
    from calibration.files import CalibrationFile
    from calibration.intrinsics import Guidance, IntrinsicsSession, ViewFeedback
    from calibration.quality import QualityThresholds

logger = logging.getLogger(__name__)

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("calibrate", help="camera calibration: board, intrinsics, plane, colour, quality")
    steps = parser.add_subparsers(dest="step", metavar="STEP", required=True)

    board = steps.add_parser("board", help="render the ChArUco board of [calibration] at true size")
    board.add_argument("--out", type=Path, required=True, help="PNG file to write")
    board.add_argument("--dpi", type=float, default=300.0, help="printer resolution (default 300)")
    board.set_defaults(handler=run_board)

    intr = steps.add_parser("intrinsics", help="camera matrix and distortion from a folder of board images")
    source = intr.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="folder of board images (png/jpg)")
    source.add_argument("--live", action="store_true",
                        help="grab frames from the [camera] source, with guidance, until ready")
    intr.add_argument("--views", type=whole(1, example="20"), default=20,
                      help="with --live: stop once guidance says ready and this many views are kept")
    intr.add_argument("--timeout", type=number(1, 86400, example="300"), default=300.0,
                      help="with --live: give up after seconds")
    intr.add_argument("--save", type=Path, default=None, help="with --live: also write each kept view here")
    intr.add_argument("--out", type=Path, default=None, help="calibration file (default: [calibration] file)")
    intr.add_argument("--camera-id", default="", help="camera serial or name recorded in the file")
    intr.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    intr.set_defaults(handler=run_intrinsics)

    plane = steps.add_parser("plane", help="px/mm and homography of the belt from the board lying on it")
    plane.add_argument("--image", type=Path, required=True, help="image of the board lying on the belt")
    plane.add_argument("--intrinsics", type=Path, default=None,
                       help="calibration file with intrinsics (default: [calibration] file; "
                            "'none' = raw pixels)")
    plane.add_argument("--out", type=Path, default=None,
                       help="calibration file (default: the --intrinsics file)")
    plane.add_argument("--json", action="store_true", help="one JSON object on stdout")
    plane.set_defaults(handler=run_plane)

    colour = steps.add_parser("colour", help="white balance and exposure from the grey reference patch")
    colour.add_argument("--image", type=Path, required=True, help="image with the grey patch in view")
    colour.add_argument("--patch", required=True, help="patch rectangle in pixels: X,Y,WIDTH,HEIGHT")
    # L* 0 is black and 100 white; a grey card reads between (the window's wizard takes 20-90 too).
    colour.add_argument("--lightness", type=number(20, 90, example="50"), default=50.0,
                        help="L* the patch should read, 20 to 90 (default 50, an 18%% grey card)")
    colour.add_argument("--out", type=Path, default=None,
                        help="calibration file (default: [calibration] file)")
    colour.add_argument("--json", action="store_true", help="one JSON object on stdout")
    colour.set_defaults(handler=run_colour)

    show = steps.add_parser("show", help="check the calibration file against the configured camera")
    show.add_argument("--file", type=Path, default=None,
                      help="calibration file (default: [calibration] file)")
    show.add_argument("--camera-id", default=None, help="the live camera's serial or name, to check the file")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    show.set_defaults(handler=run_show)

    quality = steps.add_parser("quality", help="focus, exposure and motion blur of image files")
    quality.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="image files")
    quality.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    quality.set_defaults(handler=run_quality)


def _refused(step: str, exc: Exception) -> int:
    print(f"station calibrate {step}: refused: {exc}", file=sys.stderr)
    return 1


def _spec(config: Config) -> BoardSpec:
    from calibration.board import BoardSpec

    c = config.calibration
    return BoardSpec(c.board_squares_x, c.board_squares_y, c.board_square_mm, c.board_marker_mm,
                     c.board_dictionary)


def _thresholds(config: Config) -> QualityThresholds:
    from calibration.quality import QualityThresholds

    return QualityThresholds(min_sharpness=config.calibration.min_sharpness)


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        from calibration.errors import CalibrationError

        raise CalibrationError(str(path), "cannot read the image", "check the path and that it is a png/jpg")
    return image


def _existing(path: Path) -> CalibrationFile | None:
    from calibration.files import load_calibration

    return load_calibration(path) if path.is_file() else None


def run_board(args: argparse.Namespace, config: Config) -> int:
    """Write the printable board."""
    from calibration.board import encode_png_with_dpi, render_board
    from calibration.errors import CalibrationError
    from station.commands._outputs import check_file, write_file

    check_file(args.out, suffixes=(".png",), kind="PNG")
    try:
        spec = _spec(config)
        if not 72 <= args.dpi <= 2400:
            raise CalibrationError("--dpi", f"{args.dpi:g} dpi is not a printer resolution", "use 150-1200")
        page = render_board(spec, args.dpi)
    except CalibrationError as exc:
        return _refused("board", exc)
    write_file(args.out, encode_png_with_dpi(page, args.dpi))
    print(f"{args.out}: {spec.describe()}, {spec.width_mm:g} x {spec.height_mm:g} mm at {args.dpi:g} dpi "
          f"({page.shape[1]}x{page.shape[0]} px); print at 100 % and check the 100 mm bar")
    return 0


def run_intrinsics(args: argparse.Namespace, config: Config) -> int:
    """Calibrate the camera from a folder of board images."""
    from calibration.errors import CalibrationError
    from calibration.files import save_calibration, update_calibration
    from calibration.intrinsics import IntrinsicsSession
    from station.commands._outputs import check_file, check_folder, writing

    out = args.out or config.resolve(config.calibration.file)
    check_file(out, example="calibration.toml")  # before the views are taken, not after
    if args.live and args.save is not None:
        check_folder(args.save, fix="choose a folder you may write as --save")
    try:
        spec = _spec(config)
        session = IntrinsicsSession(spec, min_views=config.calibration.intrinsics_min_views,
                                    max_rms_px=config.calibration.intrinsics_max_rms_px,
                                    thresholds=_thresholds(config), skip_duplicates=args.live)
        if args.live:
            _collect_live(session, args, config)
        else:
            _collect_folder(session, args)
        result = session.calibrate()
        # A file of another resolution is replaced: the new size invalidates its plane and colour too.
        update = update_calibration(_existing(out), result.image_size, camera_id=args.camera_id,
                                    board=spec.describe(), intrinsics=result)
        if update.stale_plane:
            logger.warning("the plane calibration in %s was made with the old intrinsics: redo "
                           "`station calibrate plane`", out)
        with writing(out):
            save_calibration(out, update.calibration)
    except CalibrationError as exc:
        return _refused("intrinsics", exc)
    guidance = session.guidance()
    summary = {"file": str(out), "fx": result.fx, "fy": result.fy, "cx": result.cx, "cy": result.cy,
               "dist": [float(v) for v in result.dist], "rms_px": result.rms_px, "views": guidance.views,
               "coverage": round(guidance.coverage, 3), "per_view_errors_px": dict(result.per_view_errors),
               "hints": list(guidance.hints)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{out}: fx {result.fx:.1f} fy {result.fy:.1f} cx {result.cx:.1f} cy {result.cy:.1f} px, "
              f"RMS {result.rms_px:.3f} px over {guidance.views} views, "
              f"frame coverage {guidance.coverage:.0%}")
        worst = sorted(result.per_view_errors, key=lambda view: -view[1])[:3]
        print("  worst views: " + ", ".join(f"{name} {err:.3f} px" for name, err in worst))
        for hint in guidance.hints:
            print(f"  note: {hint}")
    return 0


def _report_view(args: argparse.Namespace, feedback: ViewFeedback, guidance: Guidance | None = None) -> None:
    if args.json:
        record = {"view": feedback.name, "status": feedback.status, "corners": feedback.corners,
                  "tilt_deg": round(feedback.tilt_deg, 1), "message": feedback.message}
        if guidance is not None:
            record.update(views=guidance.views, coverage=round(guidance.coverage, 3),
                          tilted_views=guidance.tilted_views, ready=guidance.ready,
                          hints=list(guidance.hints))
        print(json.dumps(record), flush=True)
        return
    print(f"  {feedback.name}: {feedback.message}", flush=True)
    if guidance is not None:
        print(f"    {guidance.views} kept, coverage {guidance.coverage:.0%}, {guidance.tilted_views} tilted"
              + (f" — {guidance.hints[0]}" if guidance.hints else " — ready"), flush=True)


def _collect_folder(session: IntrinsicsSession, args: argparse.Namespace) -> None:
    from calibration.errors import CalibrationError

    if not args.images.is_dir():
        raise CalibrationError(str(args.images), "not a folder", "give the folder holding the board images")
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise CalibrationError(str(args.images), "no png/jpg images in it", "put the board images there")
    for path in files:
        _report_view(args, session.add_frame(_read_image(path), path.name))


def _collect_live(session: IntrinsicsSession, args: argparse.Namespace, config: Config) -> None:
    """Feed frames of the configured camera to the session until it is ready (or time runs out)."""
    import time

    import cv2
    import numpy as np

    from calibration.errors import CalibrationError
    from vision.camera import SourceError, open_source

    cam = config.camera
    if cam.source == "synthetic":
        raise CalibrationError("[camera] source", "the synthetic camera cannot be calibrated",
                               "set [camera] source to \"device\" (or a video/folder of the real camera)")
    try:
        source = open_source(cam.source, cam.device, cam.width, cam.height, cam.fps, cam.exposure, cam.focus,
                             gain=cam.gain, pixel_format=cam.pixel_format, trigger_mode=cam.trigger_mode,
                             transport=cam.transport)
        source.open()
    except SourceError as exc:
        raise CalibrationError("[camera]", f"cannot open the camera ({exc})",
                               "check [camera] source/device") from None
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.timeout
    frames = 0
    try:
        while time.monotonic() < deadline:
            try:
                got = source.read()
            except SourceError as exc:
                raise CalibrationError("[camera]", f"the camera stopped ({exc})",
                                       "reconnect it and retry") from None
            if got is None:
                break  # a video or folder that does not loop has ended
            frames += 1
            image = got[0] if got[0].ndim == 3 else cv2.cvtColor(got[0], cv2.COLOR_GRAY2BGR)
            feedback = session.add_frame(image.astype(np.uint8, copy=False), f"frame{frames:05d}")
            if feedback.accepted and args.save is not None:
                kept = args.save / f"{feedback.name}.png"
                if not cv2.imwrite(str(kept), image):
                    logger.warning("could not write %s (the calibration goes on without this copy): check "
                                   "the free space in %s", kept, args.save)
            if feedback.status != "duplicate":
                _report_view(args, feedback, session.guidance())
            guidance = session.guidance()
            if guidance.ready and guidance.views >= args.views:
                return
    finally:
        source.close()
    logger.warning("live capture ended after %d frames without reaching %d views; "
                   "calibrating with what is kept", frames, args.views)


def run_plane(args: argparse.Namespace, config: Config) -> int:
    """Calibrate the belt plane from one image of the board lying on it."""
    from calibration.errors import CalibrationError
    from calibration.files import load_calibration, save_calibration, update_calibration
    from calibration.plane import calibrate_plane
    from station.commands._outputs import check_file, writing

    raw = args.intrinsics is not None and str(args.intrinsics).lower() == "none"
    source = None if raw else (args.intrinsics or config.resolve(config.calibration.file))
    out = args.out or source or config.resolve(config.calibration.file)
    check_file(out, example="calibration.toml")
    try:
        spec = _spec(config)
        frame = _read_image(args.image)
        size = (int(frame.shape[1]), int(frame.shape[0]))
        existing = load_calibration(source, live_resolution=size) if source is not None else None
        if existing is not None and existing.intrinsics is None:
            raise CalibrationError(str(source), "has no intrinsics",
                                   "run `station calibrate intrinsics` first or pass --intrinsics none")
        plane = calibrate_plane(frame, spec, existing.intrinsics if existing else None)
        base = existing if out == source else _existing(out)
        if base is not None and base.image_size != size:
            raise CalibrationError(str(out), "is for another resolution", "choose another --out file")
        if raw and base is not None and base.intrinsics is not None:
            raise CalibrationError(str(out), "holds intrinsics, which a plane on raw pixels would not match",
                                   f"pass --intrinsics {out}, or write the raw plane to another --out file")
        update = update_calibration(base, size, camera_id=existing.camera_id if existing else "",
                                    board=spec.describe(), plane=plane,
                                    intrinsics=existing.intrinsics if existing else None)
        with writing(out):
            save_calibration(out, update.calibration)
    except CalibrationError as exc:
        return _refused("plane", exc)
    summary = {"file": str(out), "px_per_mm": plane.px_per_mm, "rms_mm": plane.rms_mm,
               "camera_height_mm": plane.camera_height_mm}
    if args.json:
        print(json.dumps(summary))
    else:
        height = f", camera {plane.camera_height_mm:.0f} mm above it" if plane.camera_height_mm else ""
        print(f"{out}: {plane.px_per_mm:.4f} px/mm at the board, residual {plane.rms_mm:.3f} mm{height}")
    return 0


def run_colour(args: argparse.Namespace, config: Config) -> int:
    """Calibrate white balance and exposure on the grey patch."""
    from calibration.colour import calibrate_colour
    from calibration.errors import CalibrationError
    from calibration.files import load_calibration, save_calibration, update_calibration
    from station.commands._outputs import check_file, writing

    out = args.out or config.resolve(config.calibration.file)
    check_file(out, example="calibration.toml")
    try:
        try:
            x, y, w, h = (int(v) for v in args.patch.split(","))
        except ValueError:
            raise CalibrationError("--patch", f"{args.patch!r} is not X,Y,WIDTH,HEIGHT",
                                   "give four whole numbers, e.g. --patch 40,60,80,80") from None
        frame = _read_image(args.image)
        size = (int(frame.shape[1]), int(frame.shape[0]))
        existing = load_calibration(out, live_resolution=size) if out.is_file() else None
        colour = calibrate_colour(frame, (x, y, w, h), args.lightness)
        with writing(out):
            save_calibration(out, update_calibration(existing, size, colour=colour).calibration)
    except CalibrationError as exc:
        return _refused("colour", exc)
    summary = {"file": str(out), "gains_bgr": list(colour.gains_bgr), "exposure_stops": colour.exposure_stops,
               "reference_lab": list(colour.reference_lab)}
    if args.json:
        print(json.dumps(summary))
    else:
        b, g, r = colour.gains_bgr
        print(f"{out}: gains B {b:.3f} G {g:.3f} R {r:.3f} ({colour.exposure_stops:+.2f} stops); "
              f"the patch is checked every {config.calibration.colour_check_every} items")
    return 0


def run_show(args: argparse.Namespace, config: Config) -> int:
    """Load the file as the station would (same resolution check) and summarise it."""
    from calibration.errors import CalibrationError
    from calibration.files import load_calibration

    path = args.file or config.resolve(config.calibration.file)
    try:
        cal = load_calibration(path, live_resolution=(config.camera.width, config.camera.height),
                               camera_id=args.camera_id)
    except CalibrationError as exc:
        return _refused("show", exc)
    summary: dict[str, Any] = {"file": str(path), "camera_id": cal.camera_id, "created_at": cal.created_at,
                               "width": cal.image_size[0], "height": cal.image_size[1], "board": cal.board}
    if cal.intrinsics is not None:
        summary["intrinsics"] = {"fx": cal.intrinsics.fx, "fy": cal.intrinsics.fy, "cx": cal.intrinsics.cx,
                                 "cy": cal.intrinsics.cy, "rms_px": cal.intrinsics.rms_px,
                                 "views": len(cal.intrinsics.per_view_errors)}
    if cal.plane is not None:
        summary["plane"] = {"px_per_mm": cal.plane.px_per_mm, "rms_mm": cal.plane.rms_mm,
                            "camera_height_mm": cal.plane.camera_height_mm}
    if cal.colour is not None:
        summary["colour"] = {"patch": list(cal.colour.patch), "gains_bgr": list(cal.colour.gains_bgr),
                             "exposure_stops": cal.colour.exposure_stops}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{path}: camera {cal.camera_id or '(any)'} at {cal.image_size[0]}x{cal.image_size[1]}, "
          f"made {cal.created_at}")
    for section in ("intrinsics", "plane", "colour"):
        values = summary.get(section)
        text = "not calibrated"
        if values:
            text = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in values.items())
        print(f"  {section:10} {text}")
    return 0


def run_quality(args: argparse.Namespace, config: Config) -> int:
    """Report focus, exposure and motion blur per image; exit 1 when any image fails."""
    from calibration.errors import CalibrationError
    from calibration.quality import assess

    thresholds = _thresholds(config)
    failed = 0
    for path in args.paths:
        try:
            frame = _read_image(path)
        except CalibrationError as exc:
            failed += 1
            print(f"station calibrate quality: {exc}", file=sys.stderr)
            continue
        q = assess(frame, thresholds)
        failed += 0 if q.ok else 1
        if args.json:
            print(json.dumps({"path": str(path), "ok": q.ok, "sharpness": round(q.sharpness, 1),
                              "exposure": q.exposure.value, "motion_blur": q.motion_blur,
                              "reasons": list(q.reasons)}))
        else:
            verdict = "ok" if q.ok else "; ".join(q.reasons)
            print(f"{path}: sharpness {q.sharpness:.0f}, exposure {q.exposure.value}: {verdict}")
    return 1 if failed else 0
