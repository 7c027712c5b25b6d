"""Finding the controller's serial port by path or by USB VID:PID (it may move after a replug)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Protocol

logger = logging.getLogger(__name__)

__all__ = ["PortInfo", "find_port", "parse_usb_id"]


class PortInfo(Protocol):
    """What we use of pyserial's ListPortInfo."""

    device: str
    vid: int | None
    pid: int | None


def parse_usb_id(text: str) -> tuple[int, int]:
    """"2341:0043" -> (0x2341, 0x0043); raises ValueError with what to write instead."""
    try:
        vid_text, pid_text = text.split(":")
        vid, pid = int(vid_text, 16), int(pid_text, 16)
    except ValueError:
        raise ValueError(f"usb_id {text!r} is not VID:PID in hex, e.g. \"2341:0043\"") from None
    if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
        raise ValueError(f"usb_id {text!r}: VID and PID are 4 hex digits each")
    return vid, pid


def _is_device_path(port: str) -> bool:
    # COM3 and similar names are not files; only check paths that look like paths.
    return "/" in port or "\\" in port


def find_port(port: str, usb_id: str = "", ports: Iterable[PortInfo] | None = None) -> str | None:
    """The port to open: `port` when it is there, else the first port with `usb_id`, else None."""
    if port and (not _is_device_path(port) or os.path.exists(port)):
        return port
    if not usb_id:
        return None
    vid, pid = parse_usb_id(usb_id)
    if ports is None:
        from serial.tools import list_ports

        ports = list_ports.comports()
    for info in ports:
        if info.vid == vid and info.pid == pid:
            if port:
                logger.info("controller %s not at %s; found it at %s", usb_id, port, info.device)
            return info.device
    return None
