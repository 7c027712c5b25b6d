"""The card's phrases about an item, in plain warehouse words, each a whole translatable sentence.

Where the item went (as the conveyor saw it), what the customer declared, the scores, and the
code labels drawn on the picture. The conveyor's confirmation ("Went down lane 3") and the
operator's ("Confirmed by op-7", set by the window) are different phrases on purpose.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import QCoreApplication, QLocale

from station import i18n
from station.i18n import tr as words_in  # not named tr: lupdate would take it for a window text
from station.ui.translation import current_language
from station.verdict import CodeRead, Decision, DeclaredReason, Verdict

logger = logging.getLogger(__name__)

# Each phrase is written out in a translate() call with its context, so Qt's lupdate finds it.
translate = QCoreApplication.translate


def lane_words(verdict: Verdict, lane_name: str | None, lane_names: dict[int, str]) -> str:
    """'Went down lane 3 (recycle)' (the conveyor saw it there), 'Sent to lane 1 (restock)' (not seen
    there yet), 'LATE: went to lane 0 (manual)', 'LOST on the belt (lane 2)', 'On the bench: not sent
    to a lane'."""
    routing = verdict.routing
    lane = routing.lane
    if lane is None:
        if routing.late or routing.lost:
            return translate("ItemCard", "Not sent to a lane")
        return translate("ItemCard", "On the bench: not sent to a lane")
    # `lane_name` names the lane the station chose; the conveyor may have sent the item elsewhere.
    name = lane_names.get(lane) or (lane_name if lane == routing.lane_commanded else None) or ""
    name = lane_name_words(name)
    if routing.late:
        text = (translate("ItemCard", "LATE: went to lane {lane} ({name})") if name
                else translate("ItemCard", "LATE: went to lane {lane}"))
    elif routing.lost:
        text = (translate("ItemCard", "LOST on the belt (lane {lane}, {name})") if name
                else translate("ItemCard", "LOST on the belt (lane {lane})"))
    elif routing.lane_confirmed is not None:
        text = (translate("ItemCard", "Went down lane {lane} ({name})") if name
                else translate("ItemCard", "Went down lane {lane}"))
    else:
        text = (translate("ItemCard", "Sent to lane {lane} ({name})") if name
                else translate("ItemCard", "Sent to lane {lane}"))
    return text.format(lane=lane, name=name)


def declared_words(reason: DeclaredReason | None) -> str:
    """'Customer said: no longer needed', or '' when the customer gave no reason."""
    if reason is None:
        return ""
    words = {
        DeclaredReason.UNOPENED: translate("ItemCard", "unopened"),
        DeclaredReason.DEFECTIVE: translate("ItemCard", "defective"),
        DeclaredReason.DAMAGED: translate("ItemCard", "damaged"),
        DeclaredReason.WRONG_ITEM: translate("ItemCard", "wrong item"),
        DeclaredReason.NO_LONGER_NEEDED: translate("ItemCard", "no longer needed"),
    }
    said = words.get(reason, label_words(reason.value))
    return translate("ItemCard", "Customer said: {reason}").format(reason=said)


def label_words(label: str) -> str:
    """A model's label as words: 'crushed_corner' -> 'crushed corner'."""
    return label.replace("_", " ").strip()


_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def reasons_words(decision: Decision) -> tuple[str, ...]:
    """The decision's reasons in the window's language (`decision.reasons` stays English for central)."""
    return tuple(reason_words(r) for r in i18n.render_reasons(decision, current_language()))


# Labels a model gives an undamaged item.
NOT_DAMAGE = frozenset({"ok", "good", "none", "normal"})


def defect_words(label: str) -> str:
    """A model's defect label in the window's language ('crushed_corner' -> 'coin écrasé')."""
    return words_in("Defect", label_words(label), current_language())


def number_words(value: float, decimals: int) -> str:
    """A number as the window's language writes it (0.47, or 0,47 in French)."""
    return QLocale().toString(float(value), "f", decimals)


def figure_words(value: float, decimals: int) -> str:
    """A measured figure as the window's language writes it, without thousands separators: on an
    axis or beside a unit ("fx 1234,5", "1200"), where "1,200" would read as a decimal in French."""
    locale = QLocale()
    locale.setNumberOptions(QLocale.NumberOption.OmitGroupSeparator)
    return locale.toString(float(value), "f", decimals)


def percent_words(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage in the window's language ('58%', '58 %' in French)."""
    return translate("ItemCard", "{value}%").format(value=number_words(fraction * 100, decimals))


def override_reason_text(reason: str | None) -> str:
    """An operator's override reason as recorded: a default reason in the window's language, any
    other (the site's, one typed) as written."""
    return i18n.override_reason_words(reason or "", current_language())


def lane_name_words(name: str) -> str:
    """A lane's name from the config: a disposition's code ('recycle') in the window's words; the
    manual review lane, named "manual" in [hardware.lanes], as the bench says it."""
    if name == "manual":
        return translate("ItemCard", "manual")
    if name in i18n.DISPOSITION_WORDS:
        return i18n.disposition_words(name, current_language(), in_sentence=True)
    return name


def reason_words(reason: str) -> str:
    """A reason as the operator reads it: value names in it as words ('manual_review' -> 'manual review')."""
    return _SNAKE.sub(lambda m: m.group(0).replace("_", " "), reason)


def flag_words(flag: str) -> str:
    """A decision flag as words: 'fraud_review' -> 'Fraud review' (translated when the card knows it)."""
    known = {
        "fraud_review": translate("ItemCard", "Fraud review"),
        "move_by_hand": translate("ItemCard", "Move by hand"),
    }
    if flag in known:
        return known[flag]
    words = flag.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def code_words(text: str, verdict: Verdict) -> str:
    """What a code outlined on the picture is: 'RMA R-1042', 'GTIN 4006381333931', else 'Code …'."""
    item = verdict.item
    if item.rma and text == item.rma:
        return translate("ItemCard", "RMA {rma}").format(rma=text)
    read: CodeRead | None = next((code for code in item.codes if code.text == text), None)
    if read is not None and read.gtin:
        # One spelling per product on the screen: a GS1 code's GTIN-14 "02012345000018" is the
        # EAN-13 "2012345000018" printed beside it, so it is shown as that.
        gtin = read.gtin[1:] if len(read.gtin) == 14 and read.gtin.startswith("0") else read.gtin
        return translate("ItemCard", "GTIN {gtin}").format(gtin=gtin)
    return translate("ItemCard", "Code {text}").format(text=text)
