"""Camera sources and the capture thread that owns each camera."""

from vision.camera.aravis import AravisSource, list_gige_cameras
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
    "AravisSource",
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
    "list_gige_cameras",
    "open_source",
    "sharpness",
]
