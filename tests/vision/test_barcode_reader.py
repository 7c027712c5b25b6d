"""The fused reader on codes synthesised in the test: what the dock camera would show."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from vision.barcode import BARCODE_FORMATS, BarcodeReader, Code
from vision.barcode.code import NO_QUAD
from vision.barcode.engines import RawRead
from vision.barcode.interpret import fuse, judge

F = zxingcpp.BarcodeFormat


def symbol(content: str, fmt: zxingcpp.BarcodeFormat, scale: int = 3, **options: object) -> np.ndarray:
    """A printed symbol as a grey image, quiet zone included."""
    barcode = zxingcpp.create_barcode(content, fmt, **options)
    return np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))


def frame(*placed: tuple[np.ndarray, int, int], size: tuple[int, int] = (720, 1280)) -> np.ndarray:
    """A light-grey 1280x720 BGR frame with the symbols pasted at (x, y)."""
    canvas = np.full(size, 235, np.uint8)
    for img, x, y in placed:
        canvas[y : y + img.shape[0], x : x + img.shape[1]] = img
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


def centre(code: Code) -> tuple[float, float]:
    return (sum(p[0] for p in code.quad) / 4, sum(p[1] for p in code.quad) / 4)


@pytest.fixture(scope="module")
def reader() -> BarcodeReader:
    # A budget no frame here reaches: what is read must not depend on how loaded the machine is.
    return BarcodeReader(slow_path_budget_ms=10_000)


def test_one_clear_ean13_on_a_720p_frame_is_read_on_the_fast_path(reader: BarcodeReader) -> None:
    img = symbol("4006381333931", F.EAN13)
    result = reader.read(frame((img, 400, 200)))
    assert result.path_taken == "fast"
    assert [(c.format, c.text, c.gtin14) for c in result.codes] == [
        ("EAN13", "4006381333931", "04006381333931")]
    cx, cy = centre(result.codes[0])
    assert 400 < cx < 400 + img.shape[1] and 200 < cy < 200 + img.shape[0]
    assert result.uncertain == ()


def test_upc_a_is_printed_as_12_digits_and_normalised_to_gtin14(reader: BarcodeReader) -> None:
    result = reader.read(frame((symbol("036602301467", F.UPCA), 300, 300)))
    assert [(c.format, c.text, c.gtin14) for c in result.codes] == [
        ("UPCA", "036602301467", "00036602301467")]


def test_upc_e_is_printed_as_8_digits(reader: BarcodeReader) -> None:
    result = reader.read(frame((symbol("05096893", F.UPCE), 300, 300)))
    assert [(c.format, c.text, c.gtin14) for c in result.codes] == [("UPCE", "05096893", "00050968000093")]


@pytest.mark.parametrize(
    ("fmt", "ours", "options"),
    [
        (F.Code128, "Code128", {"gs1": True}),
        (F.DataMatrix, "DataMatrix", {"gs1": True}),
        (F.QRCode, "QRCode", {"gs1": True}),
        (F.DataBarExp, "DataBarExpanded", {}),
    ],
)
def test_gs1_symbols_give_their_element_strings(
    reader: BarcodeReader, fmt: zxingcpp.BarcodeFormat, ours: str, options: dict[str, object]
) -> None:
    img = symbol("(01)09501101530003(17)261231(10)LOT42(21)SN7", fmt, scale=3, **options)
    result = reader.read(frame((img, 200, 200)))
    assert len(result.codes) == 1
    code = result.codes[0]
    assert code.format == ours
    assert code.gs1 == {"01": "09501101530003", "17": "261231", "10": "LOT42", "21": "SN7"}
    assert code.gtin14 == "09501101530003"
    assert code.text == "(01)09501101530003(17)261231(10)LOT42(21)SN7"
    assert code.to_json()["gs1"] == code.gs1


def test_databar_gives_gtin(reader: BarcodeReader) -> None:
    result = reader.read(frame((symbol("0109501101530003", F.DataBar, scale=3), 200, 200)))
    assert [(c.format, c.gtin14) for c in result.codes] == [("DataBar", "09501101530003")]


def test_plain_code128_has_no_gs1_fields(reader: BarcodeReader) -> None:
    result = reader.read(frame((symbol("R-1042", F.Code128), 200, 200)))
    assert [(c.format, c.text, c.gs1, c.gtin14) for c in result.codes] == [("Code128", "R-1042", None, None)]


@pytest.mark.parametrize("degrees", [30, 45, 90, 150])
def test_rotated_linear_code_is_read(reader: BarcodeReader, degrees: float) -> None:
    img = frame((symbol("4006381333931", F.EAN13, scale=3), 480, 260))
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    rotated = cv2.warpAffine(img, m, (w, h), borderValue=(235, 235, 235))
    result = reader.read(rotated)
    assert [c.text for c in result.codes] == ["4006381333931"]
    # The quad is where the symbol is in the rotated frame, not in some re-rendered copy.
    cx, cy = centre(result.codes[0])
    assert abs(cx - w / 2) < 120 and abs(cy - h / 2) < 120


@pytest.mark.parametrize("factor", [0.6, 3.0])
def test_small_and_large_codes_are_read(reader: BarcodeReader, factor: float) -> None:
    img = symbol("R-1042-XYZ", F.Code128, scale=2)
    img = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    result = reader.read(frame((img, 100, 100)))
    assert [c.text for c in result.codes] == ["R-1042-XYZ"]


def test_inverted_code_is_read(reader: BarcodeReader) -> None:
    img = cv2.bitwise_not(symbol("4006381333931", F.EAN13))
    result = reader.read(frame((img, 300, 300)))
    assert [c.text for c in result.codes] == ["4006381333931"]


def test_low_contrast_code_is_read(reader: BarcodeReader) -> None:
    img = symbol("R-77", F.Code128, scale=3).astype(np.float32)
    img = (150 + img * (40 / 255)).astype(np.uint8)  # bars 150, spaces 190: a faded thermal label
    canvas = np.full((720, 1280), 170, np.uint8)
    canvas[300 : 300 + img.shape[0], 300 : 300 + img.shape[1]] = img
    result = reader.read(canvas)
    assert [c.text for c in result.codes] == ["R-77"]


def test_several_codes_in_one_frame_are_all_read_each_in_its_place(reader: BarcodeReader) -> None:
    ean = symbol("4006381333931", F.EAN13)
    rma = symbol("R-1042", F.Code128)
    qr = symbol("https://returns.example/R-1042", F.QRCode, scale=4)
    result = reader.read(frame((ean, 60, 60), (rma, 700, 80), (qr, 300, 400)))
    by_text = {c.text: c for c in result.codes}
    assert set(by_text) == {"4006381333931", "R-1042", "https://returns.example/R-1042"}
    assert centre(by_text["4006381333931"])[0] < 400
    assert centre(by_text["R-1042"])[0] > 700
    assert centre(by_text["https://returns.example/R-1042"])[1] > 400


def test_the_same_code_on_two_labels_is_reported_twice(reader: BarcodeReader) -> None:
    ean = symbol("4006381333931", F.EAN13)
    result = reader.read(frame((ean, 60, 60), (ean, 700, 400)))
    assert [c.text for c in result.codes] == ["4006381333931", "4006381333931"]


def test_a_format_turned_off_is_never_reported() -> None:
    image = frame((symbol("4006381333931", F.EAN13), 60, 60), (symbol("R-1042", F.QRCode, scale=4), 700, 300))
    only_qr = BarcodeReader(formats=("QRCode",), slow_path_budget_ms=10_000)
    result = only_qr.read(image)
    assert [c.format for c in result.codes] == ["QRCode"]
    assert all(c.format == "QRCode" for c in result.uncertain)


def test_upc_a_turned_off_while_ean13_is_on_drops_upc_a_symbols() -> None:
    no_upca = BarcodeReader(formats=tuple(f for f in BARCODE_FORMATS if f != "UPCA"),
                            slow_path_budget_ms=10_000)
    result = no_upca.read(frame((symbol("036602301467", F.UPCA), 300, 300)))
    assert result.codes == () and result.uncertain == ()


def test_a_blank_frame_reads_nothing_after_trying_harder(reader: BarcodeReader) -> None:
    noise = np.random.default_rng(7).normal(128, 20, (360, 640)).clip(0, 255).astype(np.uint8)
    result = reader.read(noise)
    assert result.codes == ()
    assert result.path_taken == "slow"


def test_a_zero_budget_spends_nothing_on_the_slow_path() -> None:
    # An inverted linear code needs the slow path; with no budget it is not found.
    img = cv2.bitwise_not(symbol("4006381333931", F.EAN13))
    result = BarcodeReader(slow_path_budget_ms=0).read(frame((img, 300, 300)))
    assert result.codes == () and result.path_taken == "slow"


def test_without_try_harder_a_blank_frame_stays_on_the_fast_path() -> None:
    result = BarcodeReader(try_harder=False).read(np.full((720, 1280), 200, np.uint8))
    assert result.codes == () and result.path_taken == "fast"


def test_a_sweep_reads_flat_labels_in_both_orientations_without_trying_harder(reader: BarcodeReader) -> None:
    # A label lying on an otherwise empty belt: a linear code turned 90° (zxing's rotated passes
    # are off in a sweep, zbar's column scan must find it), a QR code and a Data Matrix.
    upright = symbol("4006381333931", F.EAN13)
    image = frame((np.ascontiguousarray(np.rot90(upright)), 100, 100),
                  (symbol("R-011000008", F.QRCode, scale=4), 600, 120),
                  (symbol("(01)04006381333931(21)A1", F.DataMatrix, scale=5), 900, 400))
    result = reader.read(image, sweep=True)
    assert result.path_taken == "sweep"
    assert sorted(c.text for c in result.codes) == sorted(["4006381333931", "R-011000008",
                                                           "(01)04006381333931(21)A1"])


def test_a_sweep_of_an_empty_frame_never_takes_the_slow_path(reader: BarcodeReader) -> None:
    noise = np.random.default_rng(7).normal(128, 20, (720, 1280)).clip(0, 255).astype(np.uint8)
    result = reader.read(noise, sweep=True)
    assert result.codes == () and result.uncertain == () and result.path_taken == "sweep"


def test_roi_limits_the_search_and_quads_stay_in_frame_coordinates(reader: BarcodeReader) -> None:
    image = frame((symbol("4006381333931", F.EAN13), 60, 60), (symbol("R-1042", F.Code128), 700, 400))
    result = reader.read(image, roi=(640, 360, 640, 360))
    assert [c.text for c in result.codes] == ["R-1042"]
    cx, cy = centre(result.codes[0])
    assert cx > 700 and cy > 400


def test_each_engine_alone_still_reads() -> None:
    image = frame((symbol("4006381333931", F.EAN13), 300, 300))
    for engine in ("zxing", "zbar"):
        result = BarcodeReader(engines=(engine,)).read(image)
        assert [(c.text, c.engines) for c in result.codes] == [("4006381333931", (engine,))]


def test_unknown_format_or_engine_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match=r"Aztec.*EAN13"):
        BarcodeReader(formats=("Aztec",))
    with pytest.raises(ValueError, match="zxing"):
        BarcodeReader(engines=("quagga",))


# ---- judging and fusing reads (the rules, on reads as the engines give them)

QUAD = ((10.0, 10.0), (200.0, 10.0), (200.0, 80.0), (10.0, 80.0))
IQUAD = ((10, 10), (200, 10), (200, 80), (10, 80))


def test_an_ean_that_fails_its_check_digit_is_uncertain() -> None:
    code = judge(RawRead("zbar", "EAN13", "4006381333932", False, QUAD), IQUAD)
    assert "check digit" in code.problem
    certain, uncertain = fuse([code])
    assert certain == [] and [c.text for c in uncertain] == ["4006381333932"]


def test_decoders_disagreeing_at_one_place_give_uncertain_codes_only() -> None:
    a = judge(RawRead("zxing", "EAN13", "7034759003930", False, QUAD), IQUAD)
    b = judge(RawRead("zbar", "EAN13", "5030159003930", False, QUAD), IQUAD)
    certain, uncertain = fuse([a, b])
    assert certain == []
    assert {c.text for c in uncertain} == {"7034759003930", "5030159003930"}
    assert all("disagree" in c.problem for c in uncertain)


def test_a_value_both_decoders_read_outweighs_a_fragment_one_decoder_read_there() -> None:
    both = [judge(RawRead(e, "UPCA", "075720003259", False, QUAD), IQUAD) for e in ("zxing", "zbar")]
    slip = judge(RawRead("zxing", "EAN13", "1077778003259", False, QUAD), IQUAD)
    certain, uncertain = fuse([*both, slip])
    assert [(c.text, c.engines) for c in certain] == [("075720003259", ("zxing", "zbar"))]
    assert [c.text for c in uncertain] == ["1077778003259"] and "alone" in uncertain[0].problem


def test_decoders_agreeing_give_one_code_read_by_both() -> None:
    a = judge(RawRead("zxing", "UPCA", "036602301467", False, QUAD), IQUAD)
    b = judge(RawRead("zbar", "UPCA", "036602301467", False, ((12.0, 30.0), (198.0, 30.0), (198.0, 32.0),
                                                               (12.0, 32.0))), IQUAD)
    certain, uncertain = fuse([a, b])
    assert [(c.text, c.engines) for c in certain] == [("036602301467", ("zxing", "zbar"))]
    assert uncertain == []


def test_gs1_string_with_a_bad_gtin_check_digit_is_uncertain_even_when_both_agree() -> None:
    raw = "0109501101530004" + "10LOT"
    reads = [judge(RawRead(e, "Code128", raw, True, QUAD), IQUAD) for e in ("zxing", "zbar")]
    certain, uncertain = fuse(reads)
    assert certain == [] and "check digit" in uncertain[0].problem


def test_a_short_itf_is_a_fragment_not_a_code() -> None:
    code = judge(RawRead("zxing", "ITF", "4062", False, QUAD), IQUAD)
    assert "too short" in code.problem
    assert judge(RawRead("zxing", "ITF", "00012345678905", False, QUAD), IQUAD).problem == ""


def test_zbar_alone_reading_an_ean8_is_not_believed() -> None:
    code = judge(RawRead("zbar", "EAN8", "96385074", False, QUAD), IQUAD)
    certain, uncertain = fuse([code], zbar_needs_zxing=frozenset({"EAN8"}))
    assert certain == [] and "only zbar" in uncertain[0].problem


def test_code_json_is_the_scan_contract() -> None:
    code = Code("EAN13", "4006381333931", None, "04006381333931", IQUAD, ("zxing",))
    assert code.to_json() == {"format": "EAN13", "text": "4006381333931", "gs1": None,
                              "quad": [[10, 10], [200, 10], [200, 80], [10, 80]]}
    assert Code("QRCode", "x").quad == NO_QUAD
