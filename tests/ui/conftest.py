"""Every window test runs without a display unless one is chosen: Qt's offscreen platform."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
