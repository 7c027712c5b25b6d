"""Catalog (SKUs with GTINs, names, sizes, reference images) and manifest (expected returns)
entries, and reading them from CSV or JSON import files.

A file is read and checked completely before anything is written, and every problem is
reported with the file, the row and the column, so an import either goes in whole or not
at all (`ImportFileError`).

CSV columns — catalog: `sku, name, gtins` (GTINs separated by `;` or spaces), optional
`width_mm, height_mm, depth_mm, reference_image`. Manifest: `rma, expected_sku`, optional
`declared_reason, customer_name, customer_address`. JSON: a list of objects with the same
keys (`gtins` may be a list; the catalog may carry `embeddings`, a list of float lists).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from station.verdict import DeclaredReason
from vision.barcode.gs1 import GS1Error, parse_gtin

__all__ = [
    "CatalogEntry",
    "ImportFileError",
    "ManifestEntry",
    "read_catalog",
    "read_manifest",
]

logger = logging.getLogger(__name__)


class ImportFileError(ValueError):
    """An import file with a bad row; the message names the file, row and column and what to do."""

    def __init__(self, file: Path, row: int | None, column: str | None, problem: str, fix: str) -> None:
        where = str(file)
        if row is not None:
            where += f", row {row}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {problem} — {fix}. Nothing was imported.")
        self.file = file
        self.row = row
        self.column = column


@dataclass(frozen=True)
class CatalogEntry:
    """One product: SKU, name, GTIN-14s, size in mm (largest first), reference image, embeddings."""

    sku: str
    name: str
    gtins: tuple[str, ...]
    dimensions_mm: tuple[float, float, float] | None = None
    reference_image: str | None = None
    embeddings: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class ManifestEntry:
    """One expected return: RMA, the SKU expected back, declared reason, the customer's personal fields."""

    rma: str
    expected_sku: str | None
    declared_reason: DeclaredReason | None = None
    customer_name: str | None = None
    customer_address: str | None = None


def _rows(path: Path) -> list[tuple[int, Mapping[str, object]]]:
    """(row number as a person counts it, row) for a CSV (header is row 1) or JSON list (first is row 1)."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(path, None, None, "file not found", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(path, None, None, f"cannot read it ({exc})", "save it as UTF-8 text") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(path, None, None, f"not valid JSON ({exc})", "fix the syntax") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFileError(path, None, None, "expected a list of objects", "write it as [{...}, ...]")
        return [(i, r) for i, r in enumerate(data, start=1)]
    if suffix == ".csv":
        # newline="" keeps line breaks inside quoted fields (an address on two lines).
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            if not reader.fieldnames:
                raise ImportFileError(path, 1, None, "no header row", "start the file with the column names")
            rows: list[tuple[int, Mapping[str, object]]] = []
            for row in reader:
                if None in row:
                    raise ImportFileError(path, reader.line_num, None, "more values than columns",
                                          "quote values that contain commas")
                rows.append((reader.line_num, {k.strip(): (v.strip() if v else "") for k, v in row.items()}))
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                problem = f"a value is longer than {csv.field_size_limit() // 1024} KB"
                fix = "check the quotes around the values above it (an unclosed quote swallows the rest)"
            else:
                problem, fix = f"not valid CSV ({exc})", "fix the quoting of this row"
            # line_num counts the lines read before the failing record, which starts on the next one.
            raise ImportFileError(path, reader.line_num + 1, None, problem, fix) from None
        return rows
    raise ImportFileError(path, None, None, f"unknown file type {suffix!r}", "use a .csv or .json file")


def _text(path: Path, row: int, data: Mapping[str, object], column: str, required: bool) -> str | None:
    value = data.get(column)
    if value is None or value == "":
        if required:
            raise ImportFileError(path, row, column, "missing", f"give every row a {column}")
        return None
    if not isinstance(value, str):
        raise ImportFileError(path, row, column, f"expected text, got {value!r}", "write it in quotes")
    return value.strip()


def _number(path: Path, row: int, data: Mapping[str, object], column: str) -> float | None:
    value = data.get(column)
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str | int | float):
            raise ValueError(value)
        number = float(value)
    except ValueError:
        raise ImportFileError(path, row, column, f"{value!r} is not a number", "write millimetres") from None
    if not math.isfinite(number) or number <= 0:
        raise ImportFileError(path, row, column, f"{value!r} is not a positive size", "write millimetres > 0")
    return number


def _check_columns(path: Path, rows: list[tuple[int, Mapping[str, object]]], known: Iterable[str]) -> None:
    allowed = set(known)
    for row, data in rows:
        for column in data:
            if column not in allowed:
                raise ImportFileError(path, row, column, "unknown column",
                                      f"remove it or use one of: {', '.join(sorted(allowed))}")


_CATALOG_COLUMNS = ("sku", "name", "gtins", "width_mm", "height_mm", "depth_mm", "reference_image",
                    "embeddings")
_MANIFEST_COLUMNS = ("rma", "expected_sku", "declared_reason", "customer_name", "customer_address")


def read_catalog(path: Path) -> list[CatalogEntry]:
    """Every catalog entry of a CSV/JSON file, checked; ImportFileError on the first bad row."""
    rows = _rows(path)
    _check_columns(path, rows, _CATALOG_COLUMNS)
    entries: list[CatalogEntry] = []
    seen_sku: dict[str, int] = {}
    seen_gtin: dict[str, tuple[int, str]] = {}
    for row, data in rows:
        sku = _text(path, row, data, "sku", required=True)
        assert sku is not None
        if sku in seen_sku:
            raise ImportFileError(path, row, "sku", f"{sku} appears again (first on row {seen_sku[sku]})",
                                  "keep one row per SKU")
        seen_sku[sku] = row
        name = _text(path, row, data, "name", required=False) or sku
        raw = data.get("gtins")
        if isinstance(raw, str):
            parts = raw.replace(";", " ").replace("|", " ").split()
        elif isinstance(raw, list):
            parts = [str(p) for p in raw]
        else:
            parts = []
        if not parts:
            raise ImportFileError(path, row, "gtins", "no GTIN", "give each SKU at least one GTIN")
        gtins: list[str] = []
        for part in parts:
            try:
                gtin = parse_gtin(part)
            except GS1Error as exc:
                raise ImportFileError(path, row, "gtins", str(exc), "correct the GTIN") from None
            if gtin in seen_gtin and seen_gtin[gtin][1] != sku:
                first_row, first_sku = seen_gtin[gtin]
                raise ImportFileError(path, row, "gtins",
                                      f"GTIN {gtin} is already {first_sku} (row {first_row})",
                                      "a GTIN belongs to one SKU")
            seen_gtin[gtin] = (row, sku)
            gtins.append(gtin)
        sizes = [_number(path, row, data, c) for c in ("width_mm", "height_mm", "depth_mm")]
        dims: tuple[float, float, float] | None = None
        if any(s is not None for s in sizes):
            if not all(s is not None for s in sizes):
                raise ImportFileError(path, row, "width_mm", "give all three sizes or none",
                                      "fill width_mm, height_mm and depth_mm")
            a, b, c = sorted((float(s or 0) for s in sizes), reverse=True)
            dims = (a, b, c)
        embeddings = _embeddings(path, row, data.get("embeddings"))
        entries.append(CatalogEntry(sku, name, tuple(dict.fromkeys(gtins)), dims,
                                    _text(path, row, data, "reference_image", required=False), embeddings))
    logger.info("read %s catalog entries from %s", len(entries), path)
    return entries


def _embeddings(path: Path, row: int, raw: object) -> tuple[tuple[float, ...], ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ImportFileError(path, row, "embeddings", "not a JSON list of lists",
                                  "write [[0.1, 0.2, ...], ...]") from None
    if not isinstance(raw, list) or not raw or not all(isinstance(v, list) and v for v in raw):
        raise ImportFileError(path, row, "embeddings", "not a list of vectors",
                              "write [[0.1, 0.2, ...], ...]")
    dims = {len(v) for v in raw}
    if len(dims) != 1:
        raise ImportFileError(path, row, "embeddings", f"vectors of different lengths {sorted(dims)}",
                              "export all vectors from the same model")
    try:
        vectors = tuple(tuple(float(x) for x in v) for v in raw)
    except (TypeError, ValueError):
        raise ImportFileError(path, row, "embeddings", "a value is not a number",
                              "write numbers only") from None
    if not all(math.isfinite(x) for v in vectors for x in v):
        raise ImportFileError(path, row, "embeddings", "a value is not finite", "write finite numbers")
    return vectors


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Every manifest entry of a CSV/JSON file, checked; ImportFileError on the first bad row."""
    rows = _rows(path)
    _check_columns(path, rows, _MANIFEST_COLUMNS)
    entries: list[ManifestEntry] = []
    seen: dict[str, int] = {}
    reasons = ", ".join(r.value for r in DeclaredReason)
    for row, data in rows:
        rma = _text(path, row, data, "rma", required=True)
        assert rma is not None
        if rma in seen:
            raise ImportFileError(path, row, "rma", f"{rma} appears again (first on row {seen[rma]})",
                                  "keep one row per RMA")
        seen[rma] = row
        reason_text = _text(path, row, data, "declared_reason", required=False)
        reason: DeclaredReason | None = None
        if reason_text is not None:
            try:
                reason = DeclaredReason(reason_text.lower())
            except ValueError:
                raise ImportFileError(path, row, "declared_reason", f"{reason_text!r} is not a return reason",
                                      f"use one of: {reasons}") from None
        entries.append(ManifestEntry(
            rma=rma,
            expected_sku=_text(path, row, data, "expected_sku", required=True),
            declared_reason=reason,
            customer_name=_text(path, row, data, "customer_name", required=False),
            customer_address=_text(path, row, data, "customer_address", required=False),
        ))
    logger.info("read %s manifest entries from %s", len(entries), path)
    return entries
