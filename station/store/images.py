"""Frame files on disk: JPEG-encoded, written atomically, readable only by the station's user."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from station.privacy import Quad, blur_except_codes
from sync.durable import fsync_dir

__all__ = ["FrameImage", "ImageWriteError", "StoredImage", "write_frame"]

logger = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ImageWriteError(OSError):
    """A frame could not be stored (disk full, permissions); says which file."""


@dataclass(frozen=True)
class FrameImage:
    """A frame to store: camera name, BGR (or grey) uint8 image, the code quads to keep sharp."""

    camera: str
    image: np.ndarray
    code_quads: Sequence[Quad] = field(default_factory=tuple)
    # The JPEG already encoded (at the store's quality) by a stage with a core to spare;
    # ignored when labels are blurred, which must happen before encoding.
    jpeg: bytes | None = None


@dataclass(frozen=True)
class StoredImage:
    """A frame written to disk: camera, sha256 of the file, path relative to the image folder, size."""

    camera: str
    sha256: str
    path: str
    bytes: int


def _mkdirs(root: Path, relative: Path) -> Path:
    """Create root/relative with mode 0700 on every level (umask would otherwise widen it)."""
    current = root
    parts: tuple[str, ...] = ("", *relative.parts)
    for part in parts:
        current = current / part
        if not current.is_dir():
            current.mkdir(mode=0o700, exist_ok=True)
            current.chmod(0o700)
    return current


def write_frame(images_dir: Path, verdict_id: str, frame: FrameImage, jpeg_quality: int,
                blur_labels: bool, at: datetime | None = None, sync: bool = False) -> StoredImage:
    """Encode `frame` as JPEG and write it under images_dir/YYYY/MM/DD/ atomically (temp + rename).

    With `sync` the file and its folder are fsynced before the rename counts (about 8 ms
    per frame on a dock PC's SSD); without it a power cut may lose the last seconds'
    images — never a verdict, whose commit is always durable.
    """
    if frame.jpeg is not None and not blur_labels:
        data = frame.jpeg
    else:
        image = blur_except_codes(frame.image, frame.code_quads) if blur_labels else frame.image
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if not ok:
            raise ImageWriteError(f"could not encode the {frame.camera} frame of {verdict_id} as JPEG")
        data = encoded.tobytes()
    digest = hashlib.sha256(data).hexdigest()
    at = at or datetime.now(UTC)
    relative_dir = Path(f"{at:%Y}") / f"{at:%m}" / f"{at:%d}"
    name = f"{verdict_id}_{_SAFE.sub('_', frame.camera)}.jpg"
    try:
        folder = _mkdirs(images_dir, relative_dir)
        final = folder / name
        temp = folder / f".{name}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
        if sync:
            fsync_dir(folder)
    except OSError as exc:
        raise ImageWriteError(f"could not write frame {name} in {images_dir}: {exc}") from exc
    return StoredImage(frame.camera, digest, (relative_dir / name).as_posix(), len(data))
