"""The operator's dialogs: sign-in, override (with the supervisor PIN when required), needs-supervisor note.

Each dialog only collects and checks input; the window turns its result into a
`StationActions` intent. They are opened with `open()` (window-modal, not a nested
event loop), so the window keeps redrawing new items while one is up.
"""

from __future__ import annotations

import hmac
import logging

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.i18n import override_reason_words
from station.operator_id import OPERATOR_ID
from station.ui import theme
from station.ui.translation import current_language

logger = logging.getLogger(__name__)

class _Dialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #c62828; font-weight: bold;")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)

    def try_accept(self) -> None:
        """Accept when the input is valid, else say what is wrong and stay open."""
        if not self.isVisible():  # Enter may arrive twice (field and dialog): accept once only
            return
        problem = self.problem()
        if problem:
            self.error.setText(problem)
            self.make_room()
            return
        self.accept()

    def make_room(self) -> None:
        """Grow to show every line: a refusal or a note appearing under the fields must not squeeze
        them (Qt does not grow a shown dialog for a wrapped label's new lines)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        need = self.heightForWidth(self.width()) if self.hasHeightForWidth() else -1
        need = max(need, self.sizeHint().height())
        if need > self.height():
            self.resize(self.width(), need)

    def problem(self) -> str:
        """What is wrong with the input, '' when it is fine."""
        return ""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        # Enter in a field means OK (QDialog would only do so with a default button); on a button
        # (Cancel reached with Tab) it presses that button.
        on_button = isinstance(self.focusWidget(), QPushButton)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not on_button:
            self.try_accept()
            return
        super().keyPressEvent(event)


class SignInDialog(_Dialog):
    """Start of shift: who is at the bench (every action is audited with this id)."""

    def __init__(self, current: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("SignInDialog", "Operator sign-in"), parent)
        self.operator = QLineEdit(current or "")
        self.operator.setPlaceholderText(self.tr("badge or operator id, e.g. op-7"))
        self.operator.setMaxLength(32)
        # The whole hint shows, in either language (the French one was cut to "badge ou identifia…").
        self.operator.setMinimumWidth(
            self.operator.fontMetrics().horizontalAdvance(self.operator.placeholderText()) + 24)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr("Sign in before inspecting: your id is written with every confirm and override.")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        form.addRow(self.tr("Operator id"), self.operator)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.operator.setFocus()

    def operator_id(self) -> str:
        """The id typed, trimmed."""
        return self.operator.text().strip()

    def problem(self) -> str:
        if not OPERATOR_ID.match(self.operator_id()):
            return self.tr("Type your operator id: letters, digits, '.', '_' or '-', up to 32 characters.")
        return ""


class OverrideDialog(_Dialog):
    """Pick the new disposition (keys 1..9 switch it) and a reason; ask the supervisor PIN when required."""

    def __init__(
        self,
        dispositions: tuple[str, ...],
        chosen: str,
        reasons: tuple[str, ...],
        supervisor_required_for: tuple[str, ...],
        supervisor_pin: str,
        item_text: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(QCoreApplication.translate("OverrideDialog", "Override the verdict"), parent)
        self._dispositions = dispositions
        self._required_for = supervisor_required_for
        self._pin = supervisor_pin
        self.disposition = QComboBox()
        for number, value in enumerate(dispositions, start=1):
            self.disposition.addItem(
                self.tr("{number}  {disposition}").format(
                    number=number, disposition=theme.disposition_words(value)
                ),
                value,
            )
        self.disposition.setCurrentIndex(max(0, dispositions.index(chosen)) if chosen in dispositions else 0)
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.reason.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # Shown in the operator's words; the reason recorded is the one configured (English for the
        # station's default reasons: central reads the same sentence from every site).
        for reason in reasons:
            self.reason.addItem(override_reason_words(reason, current_language()), reason)
        self.reason.setCurrentIndex(-1)
        line_edit = self.reason.lineEdit()
        assert line_edit is not None
        line_edit.setPlaceholderText(self.tr("pick a reason (arrow keys) or type one"))
        # Wide enough for the hint and the reasons as the language words them (French is longer).
        words = [line_edit.placeholderText(), *(self.reason.itemText(i) for i in range(self.reason.count()))]
        widest = max(line_edit.fontMetrics().horizontalAdvance(text) for text in words)
        self.reason.setMinimumWidth(widest + 48)  # the frame and the arrow
        # An editable combo box keeps Enter for itself; Enter there means "done".
        line_edit.returnPressed.connect(self.try_accept)
        self.reason.installEventFilter(self)
        line_edit.installEventFilter(self)
        self.pin_label = QLabel(self.tr("Supervisor PIN"))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_note = QLabel("")
        self.pin_note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("Item"), QLabel(item_text))
        form.addRow(self.tr("New disposition"), self.disposition)
        form.addRow(self.tr("Reason"), self.reason)
        form.addRow(self.pin_label, self.pin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.pin_note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.disposition.currentIndexChanged.connect(self._update_pin)
        self._update_pin()
        self.reason.setFocus()

    def chosen(self) -> str:
        """The disposition picked."""
        return str(self.disposition.currentData())

    def reason_text(self) -> str:
        """The reason picked (as configured: a default reason in English) or typed, trimmed."""
        text = self.reason.currentText().strip()
        index = self.reason.findText(text)  # picked, or typed word for word as a listed reason reads
        if text and index >= 0:
            return str(self.reason.itemData(index))
        return text

    def needs_pin(self) -> bool:
        """Whether the picked disposition needs a supervisor's PIN."""
        return self.chosen() in self._required_for

    def pin_text(self) -> str | None:
        """The PIN typed, None when none is needed."""
        return self.pin.text() if self.needs_pin() else None

    def _update_pin(self, *_args: object) -> None:
        needed = self.needs_pin()
        self.pin_label.setVisible(needed)
        self.pin.setVisible(needed)
        self.pin_note.setVisible(needed)
        if needed and not self._pin:
            self.pin_note.setText(self.tr(
                "No supervisor PIN is set on this station, so this override cannot be "
                "authorised here. Set [ui] supervisor_pin in config.toml or the "
                "STATION_SUPERVISOR_PIN environment variable, or mark the item "
                "'needs supervisor' (S) instead."
            ))
        elif needed:
            self.pin_note.setText(
                self.tr("{disposition} needs a supervisor: ask them to type their PIN.").format(
                    disposition=theme.disposition_words(self.chosen()))
            )
        self.make_room()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # A number key in the still-empty reason field switches the disposition (keyboard-first);
        # once the operator is typing a reason, digits are text.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and not self.reason_text():
            text = event.text()
            if text.isdigit() and 1 <= int(text) <= len(self._dispositions):
                self.disposition.setCurrentIndex(int(text) - 1)
                return True
        return super().eventFilter(watched, event)

    def problem(self) -> str:
        # The focus goes where the missing input is typed: a PIN typed after "ask the supervisor"
        # must land in the hidden PIN field, never in the reason (shown, logged, sent to central).
        if not self.reason_text():
            self.reason.setFocus()
            return self.tr("Pick or type a reason: it goes into the audit log and to central.")
        if self.needs_pin():
            if not self._pin:
                return self.tr(
                    "This override needs a supervisor PIN, and none is configured on this station."
                )
            self.pin.setFocus()
            if not self.pin.text():
                return self.tr("Ask the supervisor to type their PIN, then press Enter.")
            if not hmac.compare_digest(self.pin.text().encode(), self._pin.encode()):
                self.pin.clear()
                return self.tr("Wrong supervisor PIN: ask the supervisor to type it again.")
        return ""


class NoteDialog(_Dialog):
    """'Needs supervisor': an optional note for the supervisor."""

    def __init__(self, item_text: str, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("NoteDialog", "Needs supervisor"), parent)
        self.note = QLineEdit()
        self.note.setPlaceholderText(self.tr("what the supervisor should look at (optional)"))
        # The whole hint shows, in either language.
        self.note.setMinimumWidth(self.note.fontMetrics().horizontalAdvance(self.note.placeholderText()) + 24)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Mark {item} for a supervisor.").format(item=item_text)))
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.note.setFocus()

    def note_text(self) -> str:
        """The note, trimmed."""
        return self.note.text().strip()


class RestartDialog(_Dialog):
    """The mode is saved: restart the station now to switch, or later (the next start switches)."""

    def __init__(self, mode: str, parent: QWidget | None = None) -> None:
        super().__init__(QCoreApplication.translate("RestartDialog", "Switch mode"), parent)
        saved = (self.tr("Bench mode is saved.") if mode == "bench"
                 else self.tr("Conveyor mode is saved."))
        question = QLabel(self.tr(
            "{saved} Restart the station now to switch? The window closes for a few seconds and "
            "comes back in the new mode, you still signed in. Every item already inspected is kept; "
            "items still on the belt take the controller's default lane.").format(saved=saved))
        question.setWordWrap(True)
        question.setMinimumWidth(question.fontMetrics().horizontalAdvance("M") * 36)
        restart = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        restart.setText(self.tr("Restart now"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Later"))
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(self.buttons)
        restart.setFocus()
