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
from vision.camera.stream import StreamSource
from vision.stream_address import mask_url

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
    "StreamSource",
    "SyntheticSource",
    "VideoFileSource",
    "list_gige_cameras",
    "mask_url",
    "open_source",
    "sharpness",
]
