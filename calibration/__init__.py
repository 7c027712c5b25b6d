"""Calibration: trustworthy pixels for the inspection station (numpy and OpenCV only).

- `board`: the ChArUco board (`BoardSpec`), its printable image at true size, detection.
- `intrinsics`: `IntrinsicsSession` takes frames one at a time with guidance, then
  `calibrate()` gives `Intrinsics` (camera matrix, distortion, RMS and per-view errors).
- `plane`: `calibrate_plane` gives `PlaneCalibration` (px/mm, homography to mm, camera height).
- `colour`: white balance and exposure from a grey patch, CIEDE2000, `ColourDriftMonitor`.
- `quality`: `assess(frame_bgr) -> FrameQuality` (focus, exposure, motion blur), per frame.
- `dimensions`: `measure_footprint`, `measure_height`, `compare_dimensions` (conformity signal).
- `files`: `save_calibration` / `load_calibration` (TOML; refuses another camera or resolution).
- `synthetic`: a known camera rendering textured planes, the ground truth of tests and benchmark.
Every refusal is a `CalibrationError` (`errors`) saying what failed and what to do.
"""
