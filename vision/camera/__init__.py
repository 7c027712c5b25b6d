"""Camera sources and the capture thread that owns each camera."""

from vision.camera.capture import Camera, CameraHealth, CameraState
from vision.camera.frame import Frame, sharpness
from vision.camera.sources import (
    FolderSource,
    FrameSource,
    OpenCVSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
    open_source,
)

__all__ = [
    "Camera",
    "CameraHealth",
    "CameraState",
    "FolderSource",
    "Frame",
    "FrameSource",
    "OpenCVSource",
    "SourceError",
    "SyntheticSource",
    "VideoFileSource",
    "open_source",
    "sharpness",
]
