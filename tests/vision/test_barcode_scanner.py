"""Hand scanners: AIM-prefixed lines parsed like camera reads, keyboard wedge and a serial port."""

from __future__ import annotations

import io
import os
import threading
import tty
from collections.abc import Iterator

import pytest

from hardware.scanner_port import ScannerPort
from vision.barcode.scanner import KeyboardWedgeSource, parse_scanner_line

GS = "\x1d"


@pytest.mark.parametrize(
    ("line", "fmt", "text", "gtin14"),
    [
        ("]E04006381333931", "EAN13", "4006381333931", "04006381333931"),
        ("]E00036602301467", "UPCA", "036602301467", "00036602301467"),
        ("]E0036602301467", "UPCA", "036602301467", "00036602301467"),
        ("]E005096893", "UPCE", "05096893", "00050968000093"),
        ("]E496385074", "EAN8", "96385074", "00000096385074"),
        ("]C0R-1042", "Code128", "R-1042", None),
        ("]A0RMA 42", "Code39", "RMA 42", None),
        ("]I100012345678905", "ITF", "00012345678905", None),
        ("4006381333931", "EAN13", "4006381333931", "04006381333931"),  # no AIM identifier
        ("R-1042\r\n", "Code128", "R-1042", None),
    ],
)
def test_scanner_lines_give_the_same_codes_as_the_camera(line: str, fmt: str, text: str,
                                                         gtin14: str | None) -> None:
    code = parse_scanner_line(line)
    assert code is not None
    assert (code.format, code.text, code.gtin14, code.problem) == (fmt, text, gtin14, "")
    assert code.engines == ("scanner",)


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        ("]C10109501101530003" + "17261231" + "10LOT42" + GS + "21SN7", "Code128"),
        ("]C10109501101530003" + "17261231" + "10LOT42^]21SN7", "Code128"),  # wedge writes GS as ^]
        ("]d20109501101530003" + "17261231" + "10LOT42" + GS + "21SN7", "DataMatrix"),
        ("]Q30109501101530003" + "17261231" + "10LOT42" + GS + "21SN7", "QRCode"),
        ("]e00109501101530003" + "17261231" + "10LOT42" + GS + "21SN7", "DataBarExpanded"),
        ("(01)09501101530003(17)261231(10)LOT42(21)SN7", "Code128"),
    ],
)
def test_gs1_scans_are_parsed_into_ais(line: str, fmt: str) -> None:
    code = parse_scanner_line(line)
    assert code is not None and code.format == fmt and code.problem == ""
    assert code.gs1 == {"01": "09501101530003", "17": "261231", "10": "LOT42", "21": "SN7"}
    assert code.gtin14 == "09501101530003"


def test_databar_omni_scan_is_databar() -> None:
    code = parse_scanner_line("]e00109501101530003")
    assert code is not None and (code.format, code.gtin14) == ("DataBar", "09501101530003")


def test_a_gs1_scan_with_a_bad_gtin_check_digit_is_uncertain() -> None:
    code = parse_scanner_line("]C10109501101530004" + "10LOT42")
    assert code is not None and "check digit" in code.problem and code.gs1 is None


def test_turned_off_types_empty_lines_and_unknown_symbologies_give_nothing() -> None:
    assert parse_scanner_line("]E04006381333931", formats=("QRCode",)) is None
    assert parse_scanner_line("\r\n") is None
    assert parse_scanner_line("]z0whatever") is None


def test_keyboard_wedge_yields_one_code_per_scanned_line() -> None:
    stream = io.StringIO("]E04006381333931\n\n]C0R-1042\n]Q1https://returns.example/R-1042\n")
    codes = list(KeyboardWedgeSource(stream, formats=("EAN13", "Code128")))
    assert [(c.format, c.text) for c in codes] == [("EAN13", "4006381333931"), ("Code128", "R-1042")]


@pytest.fixture
def pty_port() -> Iterator[tuple[int, str]]:
    """A real pseudo-terminal: the test writes to the master end, the port reads the slave by name."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_serial_scanner_delivers_each_line_through_a_real_pty(pty_port: tuple[int, str]) -> None:
    master, name = pty_port
    lines: list[str] = []
    three = threading.Event()

    def on_line(line: str) -> None:
        lines.append(line)
        if len(lines) == 3:
            three.set()

    port = ScannerPort(name, on_line, baudrate=9600)
    port.start()
    try:
        assert port.connected.wait(5.0), "the port did not open"
        # CR LF, bare CR and bare LF endings, and one line split across two writes.
        os.write(master, b"]E04006381333931\r\n]C10109501101530003" + b"10LOT42\x1d")
        os.write(master, b"21SN7\r]C0R-1042\n")
        assert three.wait(5.0), f"only {lines!r} arrived"
    finally:
        port.stop()
    assert lines == ["]E04006381333931", "]C1010950110153000310LOT42\x1d21SN7", "]C0R-1042"]
    codes = [parse_scanner_line(line) for line in lines]
    assert [c.format for c in codes if c] == ["EAN13", "Code128", "Code128"]
    assert codes[1] is not None and codes[1].gs1 == {"01": "09501101530003", "10": "LOT42", "21": "SN7"}


def test_serial_scanner_reports_a_missing_port_and_keeps_trying(tmp_path: os.PathLike[str]) -> None:
    errors: list[Exception] = []
    two = threading.Event()

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        if len(errors) >= 2:
            two.set()

    port = ScannerPort(str(os.path.join(tmp_path, "ttyNONE")), lambda line: None, on_error=on_error,
                       reopen_backoff_s=0.01, reopen_backoff_max_s=0.02)
    port.start()
    try:
        assert two.wait(5.0), "the port should retry after failing to open"
    finally:
        port.stop()
    assert "ttyNONE" in str(errors[0])
