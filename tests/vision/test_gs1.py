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
    parse_gtin,
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
    ("code", "symbology", "expected"),
    [
        ("4006381333931", "EAN13", "04006381333931"),  # a Stabilo pen
        ("9501101530003", "EAN13", "09501101530003"),  # GS1's own example
        ("036000291452", "UPCA", "00036000291452"),
        ("036602301467", "UPCA", "00036602301467"),
        ("96385074", "EAN8", "00000096385074"),
        ("73513537", "EAN8", "00000073513537"),
        ("04252614", "UPCE", "00042100005264"),  # expanded to UPC-A 042100005264 first
        ("05096893", "UPCE", "00050968000093"),
        ("01234565", "UPCE", "00012345000065"),
        # Bare digits, the way a catalog file or a search box writes a GTIN.
        ("4006381333931", None, "04006381333931"),
        ("036000291452", None, "00036000291452"),
        ("96385074", None, "00000096385074"),
        ("10614141000415", None, "10614141000415"),  # GTIN-14 of a case (indicator 1)
        (" 4006381333931 ", None, "04006381333931"),
        # GS1 element strings in their printed form: the GTIN is AI (01), wherever it stands.
        ("(01)09501101530003(17)140704(10)AB-123", "DataMatrix", "09501101530003"),
        ("(01)09501101530003", "DataBar", "09501101530003"),
        ("(17)140704(01)09501101530003", None, "09501101530003"),
    ],
)
def test_every_gtin_carrier_normalises_to_its_gtin14(code: str, symbology: str | None, expected: str) -> None:
    assert gtin14(code, symbology) == expected
    assert parse_gtin(code, symbology) == expected


@pytest.mark.parametrize(
    ("code", "symbology", "check_digit"),
    [
        ("4006381333932", "EAN13", True),  # last digit should be 1
        ("4006381333932", None, True),
        ("036000291453", "UPCA", True),
        ("96385075", "EAN8", True),
        ("04252615", "UPCE", True),  # the check digit is that of the expanded UPC-A
        ("04252614", None, True),  # the UPC-E above read as an EAN-8: its check digit fails
        ("04252614", "EAN8", True),
        ("10614141000416", None, True),
        ("(01)09501101530004", "DataMatrix", True),
        ("4006381333931", "UPCA", False),  # 13 digits are not a UPC-A
        ("24252614", "UPCE", False),  # number system 2 does not exist for UPC-E
        ("4006381333931", "QRCode", False),  # digits in a QR code are no GTIN symbol
        ("R-1042", "Code128", False),
        ("R-1042", None, False),
        ("40063813339", None, False),  # 11 digits
        ("", None, False),
        ("(00)106141411234567897", None, False),  # an SSCC: GS1, but no GTIN
        ("(01)0950110153", "DataMatrix", False),  # too short for AI (01)
    ],
)
def test_what_is_not_a_gtin_has_none_and_says_why(code: str, symbology: str | None,
                                                  check_digit: bool) -> None:
    assert gtin14(code, symbology) is None
    with pytest.raises(GS1Error) as err:
        parse_gtin(code, symbology)
    assert err.value.check_digit is check_digit
