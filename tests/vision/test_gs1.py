"""GS1 rules on real element strings: what a label printer writes and what a misread looks like."""

from __future__ import annotations

import pytest

from vision.barcode.gs1 import (
    GS,
    GS1Error,
    gtin14,
    hri,
    is_valid_mod10,
    mod10_check_digit,
    parse_element_string,
    parse_hri,
    upce_to_upca,
)


def test_gs1_general_specification_examples_parse_into_their_ais() -> None:
    # GTIN + expiry + batch, the GS1 DataMatrix guideline's example; batch is variable length
    # and ends with GS when another element follows.
    raw = "0109501101530003" + "17140704" + "10AB-123" + GS + "21XYZ0001"
    elements = parse_element_string(raw)
    assert dict(elements) == {"01": "09501101530003", "17": "140704", "10": "AB-123", "21": "XYZ0001"}
    assert hri(elements) == "(01)09501101530003(17)140704(10)AB-123(21)XYZ0001"


def test_sscc_on_a_pallet_label_parses() -> None:
    assert dict(parse_element_string("00106141411234567897")) == {"00": "106141411234567897"}


def test_leading_fnc1_is_ignored() -> None:
    assert dict(parse_element_string(GS + "0109501101530003")) == {"01": "09501101530003"}


def test_hri_form_parses_the_same_as_raw() -> None:
    assert parse_hri("(01)09501101530003(10)AB-123") == parse_element_string("0109501101530003" + "10AB-123")


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("0109501101530004", "GTIN"),  # last digit should be 3
        ("00106141411234567898", "SSCC"),  # last digit should be 7
        ("4140614141000416", "GLN"),  # GLN 0614141000415 is valid, 6 is not
    ],
)
def test_a_check_digit_failure_is_rejected_as_a_misread(raw: str, what: str) -> None:
    with pytest.raises(GS1Error) as err:
        parse_element_string(raw)
    assert err.value.check_digit, f"{what} check digit failure must be marked as such"
    assert "check digit" in str(err.value)


@pytest.mark.parametrize(
    "raw",
    [
        "0109501101530003" + "17141332",  # month 13
        "99",  # an AI without a value
        "0109501101530003" + "(10)x",  # HRI brackets inside a raw string
    ],
)
def test_broken_syntax_is_rejected_but_not_as_a_check_digit(raw: str) -> None:
    with pytest.raises(GS1Error) as err:
        parse_element_string(raw)
    assert not err.value.check_digit


def test_mod10_check_digits_of_known_identifiers() -> None:
    assert mod10_check_digit("950110153000") == "3"  # EAN-13 9501101530003
    assert mod10_check_digit("10614141123456789") == "7"  # SSCC
    assert is_valid_mod10("4006381333931")
    assert not is_valid_mod10("4006381333932")


def test_upc_e_expands_to_its_upc_a() -> None:
    assert upce_to_upca("04252614") == "042100005264"  # last digit 4 rule
    assert upce_to_upca("05096893") == "050968000093"  # last digit 0-2 rule
    assert upce_to_upca("01234565") == "012345000065"  # last digit 5-9 rule
    with pytest.raises(GS1Error):
        upce_to_upca("24252614")  # number system 2 does not exist for UPC-E


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("EAN13", "4006381333931", "04006381333931"),
        ("UPCA", "036602301467", "00036602301467"),
        ("EAN8", "96385074", "00000096385074"),
        ("UPCE", "05096893", "00050968000093"),
    ],
)
def test_retail_codes_normalise_to_gtin14(fmt: str, text: str, expected: str) -> None:
    assert gtin14(fmt, text) == expected


def test_a_retail_code_with_a_wrong_check_digit_has_no_gtin() -> None:
    with pytest.raises(GS1Error) as err:
        gtin14("EAN13", "4006381333932")
    assert err.value.check_digit
    with pytest.raises(GS1Error):
        gtin14("UPCA", "4006381333931")  # 13 digits are not a UPC-A
