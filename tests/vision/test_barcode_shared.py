"""The fused reader on real photos and scans from the zxing-cpp sample suite (../shared/data/barcodes)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from vision.barcode import BarcodeReader

pytestmark = pytest.mark.shared_data

# (file, format, text as the station prints it): one or two per family, including images
# only zbar reads (ean13-2/01, ean13-4/03, qrcode-4/08, upca-5/07) and ones needing the slow path.
READ = [
    ("code128-1/1.png", "Code128", "168901"),
    ("code128-2/#444.webp", "Code128", "2-146-11"),
    ("code39-3/01.webp", "Code39", "165627"),
    ("datamatrix-1/#378.png", "DataMatrix", "Data Matrix Code"),
    ("datamatrix-2/01.webp", "DataMatrix", "http://google.com/m"),
    ("ean13-1/#526.webp", "EAN13", "8886316200561"),
    ("ean13-2/01.webp", "EAN13", "9780804816632"),
    ("ean13-4/03.webp", "EAN13", "9780441014989"),
    ("ean8-1/1.png", "EAN8", "48512343"),
    ("itf-1/#220.png", "ITF", "0000091897"),
    ("pdf417-1/01.png", "PDF417", "This is PDF417"),
    ("qrcode-3/01.webp", "QRCode",
     "http://arnaud.sahuguet.com/graffiti/test.php?ll=-74.00309961503218,40.74102573163046,0"),
    ("rss14-1/0120358468019312.webp", "DataBar", "(01)20358468019312"),
    ("rssexpanded-2/17.webp", "DataBarExpanded", "(01)90012345678908(3102)001750(13)100312"),
    ("upca-1/2.webp", "UPCA", "036602301467"),
    ("upca-5/07.webp", "UPCA", "312547701310"),
    ("upce-2/01.webp", "UPCE", "05096893"),
    ("upce-3/11.webp", "UPCE", "04965802"),
]

# zxing-cpp alone reads these wrong (a valid check digit on the wrong number); zbar reads the
# same place differently, so the station must not report the wrong number as certain.
ZXING_MISREADS = [("ean13-1/35.webp", "7034759003930"), ("upca-2/48.webp", "077778003259")]


@pytest.fixture(scope="module")
def reader() -> BarcodeReader:
    return BarcodeReader(slow_path_budget_ms=10_000)  # results independent of machine load


def load(shared_data: Path, name: str) -> cv2.typing.MatLike:
    image = cv2.imread(str(shared_data / "barcodes" / name), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"cannot decode {name}"
    return image


@pytest.mark.parametrize(("name", "fmt", "text"), READ, ids=[r[0] for r in READ])
def test_real_images_are_read_with_the_right_text(reader: BarcodeReader, shared_data: Path, name: str,
                                                  fmt: str, text: str) -> None:
    result = reader.read(load(shared_data, name))
    assert (fmt, text) in [(c.format, c.text) for c in result.codes]


def test_product_codes_carry_gtin14_and_gs1_codes_their_ais(reader: BarcodeReader, shared_data: Path) -> None:
    (upca,) = reader.read(load(shared_data, "upca-1/2.webp")).codes
    assert upca.gtin14 == "00036602301467"
    (databar,) = reader.read(load(shared_data, "rssexpanded-2/17.webp")).codes
    assert databar.gs1 == {"01": "90012345678908", "3102": "001750", "13": "100312"}


@pytest.mark.parametrize(("name", "wrong"), ZXING_MISREADS)
def test_a_misread_of_one_decoder_is_not_reported_as_certain(reader: BarcodeReader, shared_data: Path,
                                                             name: str, wrong: str) -> None:
    result = reader.read(load(shared_data, name))
    assert wrong not in [c.text for c in result.codes]


def test_several_codes_in_one_photo(reader: BarcodeReader, shared_data: Path) -> None:
    result = reader.read(load(shared_data, "multi-1/3xean-8.png"))
    assert sorted(c.text for c in result.codes) == ["12345670", "48512343", "67678983"]


def test_no_code_is_reported_on_images_without_codes(shared_data: Path) -> None:
    # The station's own budget here: these photos are large, and the benchmark runs all 44.
    station = BarcodeReader()
    folder = shared_data / "barcodes" / "falsepositives-2"
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".png", ".webp", ".jpg"))[:8]
    assert names
    for name in names:
        image = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
        assert image is not None
        assert station.read(image).codes == (), name
