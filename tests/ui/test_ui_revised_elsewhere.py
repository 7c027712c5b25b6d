"""An item window open on an item older than the list (found with the search) shows a revision made
elsewhere — with `station item` at a terminal, or from that very window — instead of the revision it
was opened on; it never goes back to an older one."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from station.state import ItemView, StationState
from station.ui.item_dialog import ItemDialog
from station.verdict import Change
from tests.ui.feeder import from_worker, make_item
from tests.ui.ui_window import open_window

pytestmark = pytest.mark.gui


def test_an_item_window_on_an_unlisted_item_shows_its_new_revision(qtbot: QtBot) -> None:
    state = StationState()
    listed = make_item(1)
    state.add_item(listed)
    old = make_item(901, frame=False).verdict  # in the record only
    window, _ = open_window(qtbot, state)
    window.open_item(ItemView(old, None))
    dialog = next(d for d in window._dialogs if isinstance(d, ItemDialog))
    confirmed = old.revise(Change.CONFIRMED, "sup-2")

    from_worker(lambda: state.update_item(confirmed))  # as the station's record watch does
    qtbot.waitUntil(lambda: dialog.view.verdict.revision == confirmed.revision)
    assert dialog.view.verdict.change is Change.CONFIRMED
    assert '"changed_by": "sup-2"' in dialog.raw.toPlainText()

    from_worker(lambda: state.update_item(old))  # a late copy of the revision it was opened on
    qtbot.wait(100)
    assert dialog.view.verdict.revision == confirmed.revision
    assert [view.verdict.verdict_id for view in state.recent()] == [listed.verdict.verdict_id]  # not added
