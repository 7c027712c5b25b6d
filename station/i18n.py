"""The station's words in the operator's language, without Qt: the same catalogue the window loads.

The catalogue is `station/translations/station_<lang>.ts` (Qt Linguist XML). The window loads
its compiled `.qm` through a QTranslator (`station.ui.translation`); code outside `station/ui`
must not import Qt, so this module reads the `.ts` itself with the standard library.

English is the source language: every text is written in English in the code and looked up
by its context and English text. A text without a (finished) translation stays English.
Placeholders are `{name}` (with an optional format spec, `{score:.2f}`), filled *after*
translation so a translator can move them; in French, numbers get a decimal comma.

Texts outside `station/ui` are marked for `pyside6-lupdate` with `QT_TRANSLATE_NOOP(context,
text)` — the one marker lupdate finds in plain Python — which here returns a `Message` to
render: `QT_TRANSLATE_NOOP("Health", "disk {free_gb:.1f} GB free").render(language, free_gb=4.2)`.
See docs/i18n.md for how to add or change a text in both languages.
"""

from __future__ import annotations

import functools
import logging
import string
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeGuard

from station.verdict import Decision, Reason, ReasonValue

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "OVERRIDE_REASON_WORDS",
    "QT_TRANSLATE_NOOP",
    "REASON_TEXTS",
    "TRANSLATIONS_DIR",
    "Language",
    "Message",
    "catalogue",
    "disposition_words",
    "is_language",
    "override_reason_words",
    "qm_path",
    "render_reason",
    "render_reasons",
    "tr",
    "ts_path",
]

logger = logging.getLogger(__name__)

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")
DEFAULT_LANGUAGE: Language = "en"
SOURCE_LANGUAGE: Language = "en"  # the language the code is written in: no catalogue needed

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

# Translations lupdate keeps for reference but that must not be shown.
_NOT_SHOWN = frozenset({"unfinished", "vanished", "obsolete"})


def is_language(value: object) -> TypeGuard[Language]:
    """Whether `value` is a language the station speaks ("en" or "fr")."""
    return value in LANGUAGES


def ts_path(language: str) -> Path:
    """The Qt Linguist source of a language's translations."""
    return TRANSLATIONS_DIR / f"station_{language}.ts"


def qm_path(language: str) -> Path:
    """The compiled translations the window loads (`pyside6-lrelease` of `ts_path`)."""
    return TRANSLATIONS_DIR / f"station_{language}.qm"


@functools.cache
def catalogue(language: str) -> Mapping[tuple[str, str], str]:
    """(context, English text) → translation, for every finished message of the language's `.ts`.

    English, and a language without a file, have an empty catalogue: every text stays English.
    """
    if language == SOURCE_LANGUAGE:
        return {}
    path = ts_path(language)
    if not path.is_file():
        logger.warning("no translations for %r (%s): texts stay English", language, path)
        return {}
    found: dict[tuple[str, str], str] = {}
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            source = message.findtext("source")
            translation = message.find("translation")
            if source is None or translation is None or translation.get("type") in _NOT_SHOWN:
                continue
            if translation.text:
                found[(name, source)] = translation.text
    return found


class _Formatter(string.Formatter):
    """`str.format` that writes numbers the way the language does (0.91 → 0,91 in French)."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        text: str = super().format_field(value, format_spec)
        if self.language == "fr" and isinstance(value, float | int) and not isinstance(value, bool):
            return text.replace(".", ",")
        return text


def tr(context: str, text: str, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """`text` (English, of `context`) in `language`, its `{placeholders}` filled from `values`.

    English when the catalogue has no finished translation of it. English output is exactly
    `text.format(**values)`, so a text rendered here reads as the code's own f-string did.
    """
    translated = catalogue(language).get((context, text), text) if language != SOURCE_LANGUAGE else text
    if not values:
        return translated
    try:
        formatted: str = _Formatter(language).format(translated, **values)
        return formatted
    except (KeyError, IndexError, ValueError) as exc:
        # A translation with a mistyped placeholder must not take a status line down: say it in
        # the log and show the English, which the tests check against every value.
        logger.error("translation of %r in %s is broken (%s): English shown", text, language, exc)
        return text.format(**values)


@dataclass(frozen=True)
class Message:
    """One translatable text of a context, marked for lupdate; `render` gives it in a language."""

    context: str
    text: str

    def render(self, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
        """The text in `language` with its placeholders filled (see `tr`)."""
        return tr(self.context, self.text, language, **values)


def QT_TRANSLATE_NOOP(context: str, text: str) -> Message:  # noqa: N802 - the name lupdate looks for
    """Mark `text` of `context` for `pyside6-lupdate`; the `Message` renders it in any language."""
    return Message(context, text)


# --- reasons ----------------------------------------------------------------------------
# Every reason the policy (and an operator's override) writes, by code. The English text is
# the sentence `decision.reasons` carries — central's contract — so it must not change
# without central agreeing; the French is the catalogue's.

REASON_TEXTS: Mapping[str, Message] = {
    "camera_failed": QT_TRANSLATE_NOOP("Reason", "camera failed: {error}"),
    "frame_exposure": QT_TRANSLATE_NOOP("Reason", "frame badly exposed (too dark or too bright)"),
    "frame_blurred": QT_TRANSLATE_NOOP(
        "Reason", "frame too blurred (sharpness {sharpness:.0f} < {minimum:.0f})"),
    "no_barcode": QT_TRANSLATE_NOOP("Reason", "no barcode read"),
    "no_gtin": QT_TRANSLATE_NOOP("Reason", "no product barcode (GTIN) read"),
    "no_rma": QT_TRANSLATE_NOOP("Reason", "no return label (RMA) read"),
    "rma_unknown": QT_TRANSLATE_NOOP("Reason", "RMA {rma} is not in the manifest"),
    "sku_mismatch": QT_TRANSLATE_NOOP(
        "Reason", "GTIN {gtin} is {observed}, not the SKU of RMA {rma} ({expected})"),
    "sku_mismatch_declared": QT_TRANSLATE_NOOP(
        "Reason", "GTIN {gtin} is {observed}, not the SKU of RMA {rma} ({expected}); "
        "declared wrong item received: check what was shipped"),
    "gtin_not_sku": QT_TRANSLATE_NOOP("Reason", "GTIN {gtin} is not the SKU of RMA {rma} ({expected})"),
    "gtin_not_sku_declared": QT_TRANSLATE_NOOP(
        "Reason", "GTIN {gtin} is not the SKU of RMA {rma} ({expected}); "
        "declared wrong item received: check what was shipped"),
    "gtin_unknown": QT_TRANSLATE_NOOP("Reason", "GTIN {gtin} is not in the catalogue"),
    "product_check_failed": QT_TRANSLATE_NOOP("Reason", "product check failed: {error}"),
    "product_not_compared": QT_TRANSLATE_NOOP(
        "Reason", "product not compared with the catalogue (no result)"),
    "looks_like": QT_TRANSLATE_NOOP(
        "Reason", "looks like {best_sku} (similarity {best:.2f}), not {target} ({similarity:.2f})"),
    "looks_like_declared": QT_TRANSLATE_NOOP(
        "Reason", "looks like {best_sku} (similarity {best:.2f}), not {target} ({similarity:.2f}); "
        "declared wrong item received: check what was shipped"),
    "looks_like_unknown": QT_TRANSLATE_NOOP(
        "Reason", "looks like {best_sku} (similarity {best:.2f}), not the expected product "
        "({similarity:.2f})"),
    "looks_like_unknown_declared": QT_TRANSLATE_NOOP(
        "Reason", "looks like {best_sku} (similarity {best:.2f}), not the expected product "
        "({similarity:.2f}); declared wrong item received: check what was shipped"),
    "not_like": QT_TRANSLATE_NOOP(
        "Reason", "does not look like {target} (similarity {similarity:.2f} < {threshold:.2f})"),
    "not_like_unknown": QT_TRANSLATE_NOOP(
        "Reason", "does not look like the expected product (similarity {similarity:.2f} < {threshold:.2f})"),
    "size_off": QT_TRANSLATE_NOOP("Reason", "measures {measured} mm, catalogue says {expected} mm"),
    "box_empty": QT_TRANSLATE_NOOP("Reason", "the box is empty"),
    "defect_check_failed": QT_TRANSLATE_NOOP("Reason", "defect check failed: {error}"),
    "not_inspected": QT_TRANSLATE_NOOP("Reason", "not inspected for defects (no result)"),
    "beyond_repair": QT_TRANSLATE_NOOP("Reason", "{label}, score {score:.2f}: beyond repair"),
    "beyond_repair_at": QT_TRANSLATE_NOOP(
        "Reason", "{label} on the {where} of the item, score {score:.2f}: beyond repair"),
    "repairable": QT_TRANSLATE_NOOP("Reason", "{label}, score {score:.2f}: repairable"),
    "repairable_at": QT_TRANSLATE_NOOP(
        "Reason", "{label} on the {where} of the item, score {score:.2f}: repairable"),
    "beyond_repair_view": QT_TRANSLATE_NOOP(
        "Reason", "{label} seen by the {view} camera, score {score:.2f}: beyond repair"),
    "beyond_repair_view_at": QT_TRANSLATE_NOOP(
        "Reason", "{label} on the {where} of the item, seen by the {view} camera, score {score:.2f}: "
                  "beyond repair"),
    "repairable_view": QT_TRANSLATE_NOOP(
        "Reason", "{label} seen by the {view} camera, score {score:.2f}: repairable"),
    "repairable_view_at": QT_TRANSLATE_NOOP(
        "Reason", "{label} on the {where} of the item, seen by the {view} camera, score {score:.2f}: "
                  "repairable"),
    "no_defect": QT_TRANSLATE_NOOP("Reason", "no defect found (score {score:.2f})"),
    "fraud_wrong_item": QT_TRANSLATE_NOOP("Reason", "returned item is not the one on the RMA"),
    "fraud_empty_box": QT_TRANSLATE_NOOP("Reason", "returned box is empty"),
    "fraud_unopened_damaged": QT_TRANSLATE_NOOP(
        "Reason", "declared unopened, found damaged ({label}, score {score:.2f})"),
    "fraud_declared_no_defect": QT_TRANSLATE_NOOP("Reason", "declared {declared}, no defect found"),
    "declared_needs_check": QT_TRANSLATE_NOOP("Reason", "declared {declared}: needs a functional check"),
    "not_sure": QT_TRANSLATE_NOOP(
        "Reason", "not sure enough (confidence {confidence:.2f} < {minimum:.2f})"),
    "no_evidence": QT_TRANSLATE_NOOP("Reason", "no evidence"),
    "operator_override": QT_TRANSLATE_NOOP(
        "Reason", "operator {operator} changed {previous} to {new}: {reason}"),
    "move_by_hand": QT_TRANSLATE_NOOP(
        "Reason", "the conveyor had already sent the item to lane {lane} ({lane_name}): "
                  "it is to be moved by hand to {disposition} (lane {target_lane})"),
    # Written by the pipeline for an item it had no time or no disk space for.
    "overloaded": QT_TRANSLATE_NOOP("Reason", "station overloaded: not inspected, sent to the manual lane"),
    "disk_full": QT_TRANSLATE_NOOP("Reason", "disk full: not inspected, sent to the manual lane"),
    "behind": QT_TRANSLATE_NOOP(
        "Reason", "station behind: the item passed the camera before its picture was taken, "
                  "sent to the manual lane"),
}

# Reasons without values, by their English sentence: a verdict without codes (written before
# codes existed, or by a part that writes only the sentence) still shows these in any language.
_FIXED_REASONS: Mapping[str, Message] = {
    message.text: message for message in REASON_TEXTS.values() if "{" not in message.text
}

# The dispositions as the bench names them (the verdict's values are codes: "manual_review").
DISPOSITION_WORDS: Mapping[str, Message] = {
    "restock": QT_TRANSLATE_NOOP("Disposition", "Restock"),
    "repair": QT_TRANSLATE_NOOP("Disposition", "Repair"),
    "recycle": QT_TRANSLATE_NOOP("Disposition", "Recycle"),
    "manual_review": QT_TRANSLATE_NOOP("Disposition", "Manual review"),
    "quarantine": QT_TRANSLATE_NOOP("Disposition", "Quarantine"),
}


def disposition_words(
    disposition: str, language: str = DEFAULT_LANGUAGE, *, in_sentence: bool = False
) -> str:
    """A disposition (its value, e.g. "manual_review") in words: "Manual review", "Contrôle manuel".

    `in_sentence`: in the middle of a sentence — lower case in English ("manual review"); French
    texts quote it as a name (« Contrôle manuel ») and keep its capital.
    """
    message = DISPOSITION_WORDS.get(disposition)
    words = message.render(language) if message is not None else disposition.replace("_", " ")
    return words.lower() if in_sentence and language == SOURCE_LANGUAGE else words


# The override reasons the station offers by default ([ui] override_reasons in station/config.py):
# the operator picks them in their language, and what is recorded — the audit log, the verdict's
# override_reason, central — is the English sentence written here, the same from every site and
# every language, as central has always read it. A reason a site wrote in its config.toml, or one
# the operator types, is shown and recorded as written.
OVERRIDE_REASON_WORDS: Mapping[str, Message] = {
    message.text: message for message in (
        QT_TRANSLATE_NOOP("OverrideReason", "damage not seen by the camera"),
        QT_TRANSLATE_NOOP("OverrideReason", "damage is only packaging"),
        QT_TRANSLATE_NOOP("OverrideReason", "wrong product in the box"),
        QT_TRANSLATE_NOOP("OverrideReason", "missing parts or accessories"),
        QT_TRANSLATE_NOOP("OverrideReason", "item is fine, model too strict"),
        QT_TRANSLATE_NOOP("OverrideReason", "label or code unreadable"),
    )
}


def override_reason_words(reason: str, language: str = DEFAULT_LANGUAGE) -> str:
    """An override reason as the operator reads it: a default reason in `language`, any other as written."""
    message = OVERRIDE_REASON_WORDS.get(reason)
    return message.render(language) if message is not None else reason


# Values that are words themselves, each from a closed list, translated before they are placed:
# where a defect lies, the model's defect labels, the declared return reason, the dispositions.
_VALUE_WORDS: Mapping[str, tuple[Message, ...]] = {
    "where": (
        QT_TRANSLATE_NOOP("Where", "top left"), QT_TRANSLATE_NOOP("Where", "top"),
        QT_TRANSLATE_NOOP("Where", "top right"), QT_TRANSLATE_NOOP("Where", "left"),
        QT_TRANSLATE_NOOP("Where", "centre"), QT_TRANSLATE_NOOP("Where", "right"),
        QT_TRANSLATE_NOOP("Where", "bottom left"), QT_TRANSLATE_NOOP("Where", "bottom"),
        QT_TRANSLATE_NOOP("Where", "bottom right"),
    ),
    "label": (
        QT_TRANSLATE_NOOP("Defect", "defect"), QT_TRANSLATE_NOOP("Defect", "crushed corner"),
        QT_TRANSLATE_NOOP("Defect", "dent"), QT_TRANSLATE_NOOP("Defect", "opened seal"),
        QT_TRANSLATE_NOOP("Defect", "scratch"), QT_TRANSLATE_NOOP("Defect", "stain"),
        QT_TRANSLATE_NOOP("Defect", "tear"), QT_TRANSLATE_NOOP("Defect", "blowhole"),
        QT_TRANSLATE_NOOP("Defect", "break"), QT_TRANSLATE_NOOP("Defect", "crack"),
        QT_TRANSLATE_NOOP("Defect", "fray"), QT_TRANSLATE_NOOP("Defect", "uneven"),
        QT_TRANSLATE_NOOP("Defect", "empty"),
    ),
    "declared": (
        QT_TRANSLATE_NOOP("Declared", "defective"), QT_TRANSLATE_NOOP("Declared", "damaged"),
    ),
    # The usual camera names; a site's own name ("belt-3") is shown as written.
    "view": (
        QT_TRANSLATE_NOOP("View", "top"), QT_TRANSLATE_NOOP("View", "left"),
        QT_TRANSLATE_NOOP("View", "right"), QT_TRANSLATE_NOOP("View", "front"),
        QT_TRANSLATE_NOOP("View", "back"), QT_TRANSLATE_NOOP("View", "bottom"),
    ),
}
_VALUE_CONTEXT = {"where": "Where", "label": "Defect", "declared": "Declared", "view": "View"}
# An override names the dispositions: on screen their words, not their codes ("manual review",
# not "manual_review"; `decision.reasons` keeps the codes, as central has always read them).
_DISPOSITION_VALUES = frozenset({"previous", "new", "disposition"})


def _value_in(language: str, key: str, value: ReasonValue) -> ReasonValue:
    if key in _DISPOSITION_VALUES and isinstance(value, str):
        return disposition_words(value, language, in_sentence=True)
    if key == "reason" and isinstance(value, str):  # an operator's override reason
        return override_reason_words(value, language)
    context = _VALUE_CONTEXT.get(key)
    if context is None or not isinstance(value, str):
        return value
    # A label a newer model brings and the catalogue does not know yet stays as the model wrote it.
    return tr(context, value, language)


def render_reason(reason: Reason, language: str = DEFAULT_LANGUAGE) -> str:
    """One reason in `language`, as the operator's screen shows it.

    In English this is exactly the sentence `decision.reasons` carries for every code the
    policy writes; only an operator's override names the dispositions in words rather than
    codes ("changed manual review to restock").

    A code this station does not know (a newer policy's) is shown as its code and values, never
    dropped: the operator still sees that there was a reason.
    """
    message = REASON_TEXTS.get(reason.code)
    if message is None:
        logger.warning("reason code %r has no text", reason.code)
        listed = ", ".join(f"{k}={v}" for k, v in reason.values.items())
        return f"{reason.code} ({listed})" if listed else reason.code
    values = {key: _value_in(language, key, value) for key, value in reason.values.items()}
    return message.render(language, **values)


def render_reasons(decision: Decision, language: str = DEFAULT_LANGUAGE) -> tuple[str, ...]:
    """The decision's reasons in `language`, in order.

    A verdict without codes (written before reasons had them) shows the sentences the catalogue
    knows without values ("no barcode read") in `language`, and the others in English as written.
    """
    codes = decision.reason_codes
    if len(codes) != len(decision.reasons):
        return tuple(_FIXED_REASONS[r].render(language) if r in _FIXED_REASONS else r
                     for r in decision.reasons)
    return tuple(render_reason(reason, language) for reason in codes)
