"""The Qt binding itself must not corrupt Python's reference counts.

PySide6 6.12.0 on Python 3.11 returns None from every void Qt call without a reference:
each call drops None's count by one, and the window aborts with "none_dealloc" after a
few seconds of items (benchmarks/ui_latency.py found it). pyproject.toml keeps it out;
this test fails loudly if such a build is installed again.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.gui

CALLS = 300


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None and bools are immortal from Python 3.12")
def test_void_qt_calls_keep_none_and_bool_reference_counts(qtbot: QtBot) -> None:
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    label = QLabel()
    try:
        none_before = sys.getrefcount(None)
        false_before = sys.getrefcount(False)
        for _ in range(CALLS):
            painter.setBrush(QBrush(QColor(0, 0, 0, 180)))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRect(QRectF(1, 1, 5, 5))
            label.setText("x")
            label.isVisible()
        none_after = sys.getrefcount(None)
        false_after = sys.getrefcount(False)
    finally:
        painter.end()
    # A correct binding leaves both counts where they were (give or take a few unrelated references).
    assert none_after > none_before - CALLS // 2, f"None lost {none_before - none_after} references"
    assert false_after > false_before - CALLS // 2, f"False lost {false_before - false_after} references"
