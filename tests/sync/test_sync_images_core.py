"""Evidence pictures in `sync.delivery.Delivery` (no broker, no database, no clock): they travel
behind verdicts in a lane of their own, so a picture backlog never delays a verdict; and the
checks central makes of a picture or a purge message."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from sync.delivery import Delivery, Fetch, Instant, Message
from sync.evidence import (
    EvidenceInvalidError,
    ImageRow,
    erase_personal_codes,
    parse_image,
    parse_purge,
    purge_payload,
    topic_of_key,
)


@dataclass(frozen=True)
class FakeRow:
    id: int
    key: str
    payload: bytes


def at(t: float) -> Instant:
    return Instant(wall=t, mono=t)


class FakeOutbox:
    """Rows by id, read as `sync.outbox.pending` reads them (one lane or the other)."""

    def __init__(self) -> None:
        self.rows: list[FakeRow] = []

    def add(self, key: str) -> None:
        self.rows.append(FakeRow(len(self.rows) + 1, key, key.encode()))

    def delivered(self, core: Delivery, keys: list[str]) -> None:
        """Central acknowledged these: out of the window and, as marked rows, out of later reads."""
        core.acked(keys)
        self.rows = [r for r in self.rows if r.key not in keys]

    def read(self, fetch: Fetch) -> list[FakeRow]:
        lane = [r for r in self.rows if r.key.startswith("image:") == fetch.images and r.id > fetch.after_id]
        return lane[:fetch.limit]


def round_(core: Delivery, box: FakeOutbox, now: Instant, woken: bool = False) -> list[Message]:
    """One round of the shell: verdict lane first, then pictures."""
    sent: list[Message] = []
    for lane in (core.fetch, core.fetch_images):
        fetch = lane(now, woken)
        if fetch is not None:
            sent += core.fetched_messages(fetch, box.read(fetch), now)
    return sent


def connected(*keys: str, image_window: int = 2) -> tuple[Delivery, FakeOutbox]:
    """A delivery run connected at t=100 over an outbox holding `keys` (ack timeout 10 s)."""
    core = Delivery(window=10, image_window=image_window, ack_timeout_s=10.0, poll_interval_s=0.2,
                    stats_interval_s=30.0, start=at(100.0))
    box = FakeOutbox()
    for key in keys:
        box.add(key)
    core.connected(1, at(100.0))
    return core, box


def test_a_new_verdict_goes_out_before_any_more_of_ten_thousand_waiting_pictures() -> None:
    core = Delivery(window=100, image_window=4, ack_timeout_s=10.0, poll_interval_s=0.2,
                    stats_interval_s=30.0, start=at(100.0))
    box = FakeOutbox()
    box.add("v0:1")
    for i in range(10_000):
        box.add(f"image:v{i}:top")
    core.connected(1, at(100.0))
    # The verdict first; pictures only once central has it.
    assert [m.key for m in round_(core, box, at(100.0))] == ["v0:1"]
    assert round_(core, box, at(100.01), woken=True) == []
    core.acked(["v0:1"])
    first = round_(core, box, at(100.02))
    # Then only as many pictures as their window holds.
    assert [m.key for m in first] == ["image:v0:top", "image:v1:top", "image:v2:top", "image:v3:top"]
    assert all(m.image for m in first)
    published: list[str] = ["v0:1"] + [m.key for m in first]
    core.acked(["image:v0:top"])
    box.add("v-new:1")  # a new item is recorded while 9,999 pictures wait
    published += [m.key for m in round_(core, box, at(100.05), woken=True)]
    for i in range(1, 50):
        core.acked([*[k for k in published if k.startswith("image:")][-4:], "v-new:1"])
        published += [m.key for m in round_(core, box, at(100.05 + i * 0.01))]
    new_at = published.index("v-new:1")
    # Of the pictures published after the first round, at most one window's worth came
    # before the new verdict (none here: it was read in the very round it was recorded).
    assert [k for k in published[5:new_at] if k.startswith("image:")] == []
    assert len([k for k in published if k.startswith("image:")]) > 100  # pictures kept flowing


def test_pictures_wait_while_the_verdict_window_is_full() -> None:
    core = Delivery(window=2, image_window=4, ack_timeout_s=10.0, poll_interval_s=0.2,
                    stats_interval_s=30.0, start=at(100.0))
    box = FakeOutbox()
    for key in ("v1:1", "image:v1:top", "v2:1", "v3:1", "image:v2:top"):
        box.add(key)
    core.connected(1, at(100.0))
    assert [m.key for m in round_(core, box, at(100.0))] == ["v1:1", "v2:1"]
    assert core.fetch_images(at(101.0), woken=True) is None  # v3 still waits for room
    core.acked(["v1:1"])
    # v3 filled the room: there may be more verdicts, so pictures still wait.
    assert [m.key for m in round_(core, box, at(101.0))] == ["v3:1"]
    core.acked(["v2:1"])
    # The verdict lane reads the end of the outbox, but v3 waits for its ack: so do pictures.
    assert round_(core, box, at(101.1)) == []
    core.acked(["v3:1"])
    assert [m.key for m in round_(core, box, at(101.2))] == ["image:v1:top", "image:v2:top"]


def test_resends_put_verdicts_before_pictures_and_a_reconnect_starts_both_lanes_again() -> None:
    core, box = connected("image:v0:top", "v1:1", "image:v1:top")
    assert [m.key for m in round_(core, box, at(100.0))] == ["v1:1"]
    box.delivered(core, ["v1:1"])
    assert [m.key for m in round_(core, box, at(100.1))] == ["image:v0:top", "image:v1:top"]
    box.add("v2:1")
    box.add("v3:1")
    assert [m.key for m in round_(core, box, at(100.5), woken=True)] == ["v2:1", "v3:1"]
    # Nothing acknowledged: the resends put the verdicts first.
    resent = [m.key for m in core.resend_messages(at(111.0))]
    assert resent == ["v2:1", "v3:1", "image:v0:top", "image:v1:top"]
    core.connected(2, at(112.0))
    assert [m.key for m in round_(core, box, at(112.0))] == ["v2:1", "v3:1"]


def test_a_verdict_overtaken_by_a_later_ones_ack_no_longer_holds_the_pictures() -> None:
    """A receiver gone from a shared subscription (hung, or its session left on the broker) holds its
    share of the verdicts until they are sent again. The pictures of every item waited for those: 2 of
    80 reached central while 40 items were recorded (benchmarks/gone_receiver.py). A verdict sent after
    it and acknowledged shows central is there and working: pictures need not wait for that one."""
    core, box = connected("v1:1", "image:v1:top", "v2:1", "image:v2:top")
    assert [m.key for m in round_(core, box, at(100.0))] == ["v1:1", "v2:1"]
    box.delivered(core, ["v2:1"])  # the live receiver had v2; v1 went to the one that is gone
    core.delivered(1, at(100.1))
    assert [m.key for m in round_(core, box, at(100.1))] == ["image:v1:top", "image:v2:top"]


def test_a_verdict_sent_again_while_central_acknowledges_others_no_longer_holds_the_pictures() -> None:
    """The last verdict sent lands where nobody answers: nothing overtakes it, so pictures wait for it
    (verdicts first) — until it has been sent again, central having acknowledged others meanwhile."""
    core, box = connected("v1:1", "image:v1:top", "v2:1", "image:v2:top")
    assert [m.key for m in round_(core, box, at(100.0))] == ["v1:1", "v2:1"]
    box.delivered(core, ["v1:1"])
    core.delivered(1, at(100.1))
    assert round_(core, box, at(105.0), woken=True) == []  # v2 may still come: verdicts first
    assert [m.key for m in core.resend_messages(at(110.0))] == ["v2:1"]
    assert core.take_notices() == []  # central answered 9.9 s ago: not silent
    assert [m.key for m in round_(core, box, at(110.0))] == ["image:v1:top", "image:v2:top"]


def test_a_picture_overtaken_by_a_later_ones_ack_leaves_its_room_in_the_window() -> None:
    """Pictures landing on a gone receiver filled the picture window for `ack_timeout_s` each: about two
    pictures a second got through. One overtaken waits for its resend without taking the room."""
    core, box = connected(*(f"image:v{i}:top" for i in range(1, 5)))
    assert [m.key for m in round_(core, box, at(100.0))] == ["image:v1:top", "image:v2:top"]
    assert round_(core, box, at(100.05), woken=True) == []  # the window is full
    box.delivered(core, ["image:v2:top"])
    core.delivered(1, at(100.1))
    assert [m.key for m in round_(core, box, at(100.1))] == ["image:v3:top", "image:v4:top"]


def test_while_central_acknowledges_nothing_an_overdue_verdict_still_holds_the_pictures() -> None:
    """A stopped central: resending verdicts is what the station must do, but pictures would only be
    queued again and again at the broker; they wait until central answers."""
    core, box = connected("v1:1", "image:v1:top")
    assert [m.key for m in round_(core, box, at(100.0))] == ["v1:1"]
    assert [m.key for m in core.resend_messages(at(110.0))] == ["v1:1"]
    assert [level for level, _ in core.take_notices()] == [logging.WARNING]  # central is silent
    assert round_(core, box, at(110.0), woken=True) == []
    box.delivered(core, ["v1:1"])  # central is back
    core.delivered(1, at(111.0))
    assert [m.key for m in round_(core, box, at(111.0))] == ["image:v1:top"]


def test_a_row_key_says_its_topic() -> None:
    assert [topic_of_key(k) for k in ("a:1", "image:a:top", "purge:p")] == ["verdict", "image", "purge"]


def test_a_picture_whose_bytes_do_not_match_its_sha256_is_refused() -> None:
    data = b"\xff\xd8jpeg bytes\xff\xd9"
    row = ImageRow("0193a0f4-1111-7000-8000-000000000001", "top", hashlib.sha256(data).hexdigest(),
                   "/x.jpg", len(data))
    image = parse_image(row.properties(), data)
    assert image.key == "image:0193a0f4-1111-7000-8000-000000000001:top"
    assert image.ack() == {"key": image.key, "verdict_id": row.verdict_id, "camera": "top"}
    with pytest.raises(EvidenceInvalidError, match="hash to"):
        parse_image(row.properties(), data + b"tampered")
    with pytest.raises(EvidenceInvalidError, match="sha256"):
        parse_image([p for p in row.properties() if p[0] != "sha256"], data)
    wrong_key = [("key", "image:other:top") if k == "key" else (k, v) for k, v in row.properties()]
    with pytest.raises(EvidenceInvalidError, match="does not name"):
        parse_image(wrong_key, data)


def test_a_purge_message_is_checked_and_personal_codes_are_erased_by_the_stations_rule() -> None:
    payload = purge_payload("p-1", "R-1042", ["v1", "v2"], "dock-01", "site-01", "2026-12-03T12:00:00.000Z")
    purge = parse_purge(payload)
    assert purge.verdict_ids == ("v1", "v2") and purge.ack() == {"key": "purge:p-1", "purge_id": "p-1"}
    bad = json.loads(payload)
    bad["verdict_ids"] = "v1"
    with pytest.raises(EvidenceInvalidError, match="verdict_ids"):
        parse_purge(json.dumps(bad).encode())
    verdict = {"item": {"rma": "R-1042", "codes": [
        {"format": "EAN13", "text": "4006381333931"}, {"format": "QRCode", "text": "Jane Doe, 1 Main St"},
        {"format": "Code128", "text": "R-1042"}]}}
    assert erase_personal_codes(verdict)
    assert [c["text"] for c in verdict["item"]["codes"]] == ["4006381333931", "[erased]", "R-1042"]
    assert not erase_personal_codes(verdict)


def _schema(name: str) -> jsonschema.Draft202012Validator:
    path = Path(__file__).resolve().parents[2] / "sync" / "schemas" / name
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def test_what_the_station_and_central_send_holds_to_the_published_schemas() -> None:
    data = b"\xff\xd8 jpeg \xff\xd9"
    verdict_id = "0193a0f4-1111-7000-8000-000000000001"
    row = ImageRow(verdict_id, "top", hashlib.sha256(data).hexdigest(), "/x.jpg", len(data))
    _schema("image-headers-1.schema.json").validate(dict(row.properties()))
    purge = purge_payload(str(uuid.uuid4()), "R-1042", [verdict_id], "dock-01", "site-01",
                          "2026-12-03T12:00:00.000Z")
    _schema("purge-1.schema.json").validate(json.loads(purge))
    acks = [parse_image(row.properties(), data).ack(), parse_purge(purge).ack()]
    _schema("ack-1.schema.json").validate(acks)
