"""The station's words in French and English: every reason code in both languages with its values,
the catalogue complete and its `.qm` compiled from it, verdicts unchanged for central apart from the
new optional `reason_codes`, and the status lines of a French station in French."""

from __future__ import annotations

import dataclasses
import filecmp
import re
import shutil
import string
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station import i18n
from station.commands.run import with_language
from station.config import Config, ConfigError, PolicyConfig, load_config
from station.conveyor_bridge import ConveyorBridge
from station.devices import camera_health, load_camera_calibration
from station.diskguard import DiskState
from station.health import disk_health
from station.i18n import REASON_TEXTS, disposition_words, render_reason, render_reasons, tr
from station.live_models import ModelSet
from station.policy import DimensionsCheck, Evidence, RmaRecord, decide
from station.store import Store
from station.uplink import sync_health
from station.verdict import (
    CodeRead,
    ConformityFinding,
    DeclaredReason,
    DefectFinding,
    Disposition,
    Inspection,
    ItemInfo,
    Quality,
    Reason,
    Verdict,
    VerdictError,
)
from sync.publisher import PublisherStats
from vision.camera import CameraHealth, CameraState

ROOT = Path(__file__).resolve().parents[2]

# One example of each code's values: a code added without an example here fails the first test.
EXAMPLES: dict[str, dict[str, str | int | float | None]] = {
    "camera_failed": {"error": "no frame for 2.0 s"},
    "frame_exposure": {},
    "frame_blurred": {"sharpness": 41.7, "minimum": 80.0},
    "no_barcode": {},
    "no_gtin": {},
    "no_rma": {},
    "rma_unknown": {"rma": "R-9999"},
    "sku_mismatch": {"gtin": "04006381333931", "observed": "SKU-B", "rma": "R-1042", "expected": "SKU-A"},
    "sku_mismatch_declared": {"gtin": "04006381333931", "observed": "SKU-B", "rma": "R-1042",
                              "expected": "SKU-A"},
    "gtin_not_sku": {"gtin": "04006381333931", "rma": "R-1042", "expected": "SKU-A"},
    "gtin_not_sku_declared": {"gtin": "04006381333931", "rma": "R-1042", "expected": "SKU-A"},
    "gtin_unknown": {"gtin": "04006381333931"},
    "product_check_failed": {"error": "model file missing"},
    "product_not_compared": {},
    "looks_like": {"best_sku": "SKU-C", "best": 0.88, "target": "SKU-A", "similarity": 0.3},
    "looks_like_declared": {"best_sku": "SKU-C", "best": 0.88, "target": "SKU-A", "similarity": 0.3},
    "looks_like_unknown": {"best_sku": "SKU-C", "best": 0.88, "similarity": 0.3},
    "looks_like_unknown_declared": {"best_sku": "SKU-C", "best": 0.88, "similarity": 0.3},
    "not_like": {"target": "SKU-A", "similarity": 0.3, "threshold": 0.6},
    "not_like_unknown": {"similarity": 0.3, "threshold": 0.6},
    "size_off": {"measured": "120×80×40", "expected": "200×150×40"},
    "box_empty": {},
    "defect_check_failed": {"error": "inference timed out after 500 ms"},
    "not_inspected": {},
    "beyond_repair": {"label": "tear", "score": 0.91},
    "beyond_repair_at": {"label": "tear", "where": "top left", "score": 0.91},
    "repairable": {"label": "scratch", "score": 0.7},
    "repairable_at": {"label": "crushed corner", "where": "bottom", "score": 0.7},
    "beyond_repair_view": {"label": "tear", "view": "left", "score": 0.93},
    "beyond_repair_view_at": {"label": "tear", "where": "top left", "view": "right", "score": 0.91},
    "repairable_view": {"label": "dent", "view": "front", "score": 0.62},
    "repairable_view_at": {"label": "scratch", "where": "centre", "view": "belt-3", "score": 0.7},
    "no_defect": {"score": 0.05},
    "fraud_wrong_item": {},
    "fraud_empty_box": {},
    "fraud_unopened_damaged": {"label": "dent", "score": 0.75},
    "fraud_declared_no_defect": {"declared": "defective"},
    "declared_needs_check": {"declared": "damaged"},
    "not_sure": {"confidence": 0.57, "minimum": 0.6},
    "no_evidence": {},
    "operator_override": {"operator": "op-7", "previous": "manual_review", "new": "restock",
                          "reason": "item is fine"},
    "move_by_hand": {"lane": 3, "lane_name": "recycle", "disposition": "restock", "target_lane": 1},
    "overloaded": {},
    "disk_full": {},
    "behind": {},
}

# What each example reads in French: the whole sentence a French operator sees.
FRENCH = {
    "frame_blurred": "image trop floue (netteté 42 < 80)",
    "gtin_not_sku_declared": "le GTIN 04006381333931 ne correspond pas à l'article du RMA R-1042 (SKU-A) "
                             "; le client déclare avoir reçu un mauvais article : vérifiez ce qui a été "
                             "expédié",
    "looks_like": "ressemble à SKU-C (similarité 0,88), pas à SKU-A (0,30)",
    "beyond_repair_at": "déchirure en haut à gauche de l'article, score 0,91 : irréparable",
    "repairable_at": "coin écrasé en bas de l'article, score 0,70 : réparable",
    "fraud_declared_no_defect": "déclaré défectueux, aucun défaut trouvé",
    "operator_override": "l'opérateur op-7 a changé « Contrôle manuel » en « Remise en stock » : "
                         "item is fine",
    "box_empty": "le carton est vide",
    "beyond_repair_view": "déchirure sur la vue « gauche », score 0,93 : irréparable",
    "repairable_view_at": "rayure au centre de l'article, sur la vue « belt-3 », score 0,70 : réparable",
}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_reason_code_has_an_example() -> None:
    assert set(EXAMPLES) == set(REASON_TEXTS)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_every_reason_code_renders_in_both_languages_with_its_values(code: str) -> None:
    reason = Reason(code, EXAMPLES[code])
    english = render_reason(reason, "en")
    if code == "operator_override":  # the screen names dispositions in words, not codes
        assert english == "operator op-7 changed manual review to restock: item is fine"
    else:
        assert english == REASON_TEXTS[code].text.format(**EXAMPLES[code])
    assert _placeholders(REASON_TEXTS[code].text) == set(EXAMPLES[code])
    french = render_reason(reason, "fr")
    assert french != english and "{" not in french
    for key, value in EXAMPLES[code].items():
        if isinstance(value, float):
            spec = re.search(r"\{" + key + r":([^}]*)\}", REASON_TEXTS[code].text)
            shown = format(value, spec.group(1) if spec else "").replace(".", ",")
            assert shown in french, (key, french)
        elif key in ("gtin", "rma", "best_sku", "target", "observed", "expected", "measured", "error",
                     "operator", "reason"):
            assert str(value) in french, (key, french)
    if code in FRENCH:
        assert french == FRENCH[code]


def test_a_code_the_station_does_not_know_still_shows_its_values() -> None:
    assert render_reason(Reason("new_rule", {"gtin": "123"}), "fr") == "new_rule (gtin=123)"


def test_dispositions_in_the_benchs_words() -> None:
    assert [disposition_words(d, "fr") for d in Disposition] == [
        "Remise en stock", "Réparation", "Recyclage", "Contrôle manuel", "Quarantaine"]
    assert disposition_words("manual_review") == "Manual review"


def test_a_broken_translation_shows_the_english_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {("Health", "disk {free_gb:.1f} GB free"): "disque : {libre} Go"}
    monkeypatch.setattr(i18n, "catalogue", lambda _language: broken)
    assert tr("Health", "disk {free_gb:.1f} GB free", "fr", free_gb=4.25) == "disk 4.2 GB free"


# --- the catalogue -----------------------------------------------------------------------


def _messages() -> list[tuple[str, str, ET.Element]]:
    root = ET.parse(i18n.ts_path("fr")).getroot()
    return [(c.findtext("name") or "", m.findtext("source") or "", m.find("translation"))  # type: ignore[misc]
            for c in root.iter("context") for m in c.iter("message")]


def test_every_text_is_translated_to_french_with_the_same_placeholders() -> None:
    messages = _messages()
    assert len(messages) > 100
    for context, source, translation in messages:
        assert translation is not None and translation.get("type") is None, (context, source)
        assert translation.text, (context, source)
        assert _placeholders(translation.text) == _placeholders(source), (context, source)


def test_every_text_the_code_marks_is_in_the_catalogue() -> None:
    marked = set()
    for path in (ROOT / "station").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for context, body in re.findall(r'QT_TRANSLATE_NOOP\(\s*"(\w+)",\s*((?:"[^"]*"\s*)+)\)', text):
            marked.add((context, "".join(re.findall(r'"([^"]*)"', body))))
    assert len(marked) > 100
    assert marked <= {(c, s) for c, s, _ in _messages()}


def test_the_compiled_qm_is_up_to_date_with_the_ts(tmp_path: Path) -> None:
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    tool = str(lrelease) if lrelease.exists() else shutil.which("pyside6-lrelease")
    assert tool is not None, "pyside6-lrelease is part of the dev environment"
    fresh = tmp_path / "station_fr.qm"
    subprocess.run([tool, "-silent", str(i18n.ts_path("fr")), "-qm", str(fresh)], check=True)
    assert filecmp.cmp(fresh, i18n.qm_path("fr"), shallow=False), (
        "station_fr.qm is out of date with station_fr.ts: run scripts/translations.py")


# --- verdicts: central reads what it always read ------------------------------------------

GTIN_A = "04006381333931"
AT = datetime(2026, 11, 24, 8, 30, 0, 123000, tzinfo=UTC)
CASES = {
    # Produced by the policy before reasons had codes, for the same evidence.
    "recycled": (
        Evidence(codes=(CodeRead("Code128", "R-1042"), CodeRead("EAN13", GTIN_A[1:])), rma_read="R-1042",
                 rma=RmaRecord("R-1042", "SKU-A", DeclaredReason.UNOPENED), observed_sku="SKU-A",
                 expected_gtins=(GTIN_A,),
                 defect=DefectFinding(0.91, "tear", regions=((110, 105, 20, 20, 0.9),)),
                 conformity=ConformityFinding(0.9, "SKU-A", 0.9), item_box=(100, 100, 300, 300)),
        {"grade": "D", "disposition": "recycle",
         "reasons": ["tear on the top left of the item, score 0.91: beyond repair",
                     "declared unopened, found damaged (tear, score 0.91)"],
         "flags": ["fraud_review"], "confidence": 0.7, "source": "auto", "operator_id": None,
         "override_reason": None},
    ),
    "wrong item declared": (
        Evidence(codes=(CodeRead("Code128", "R-1042"), CodeRead("EAN13", GTIN_A[1:])), rma_read="R-1042",
                 rma=RmaRecord("R-1042", "SKU-A", DeclaredReason.WRONG_ITEM), observed_sku="SKU-B",
                 expected_gtins=(GTIN_A,), defect=DefectFinding(0.05, "ok"),
                 conformity=ConformityFinding(0.3, "SKU-C", 0.88), frame_size=(1280, 720)),
        {"grade": "A", "disposition": "manual_review",
         "reasons": ["GTIN 04006381333931 is SKU-B, not the SKU of RMA R-1042 (SKU-A); declared wrong item "
                     "received: check what was shipped",
                     "looks like SKU-C (similarity 0.88), not SKU-A (0.30); declared wrong item received: "
                     "check what was shipped",
                     "no defect found (score 0.05)"],
         "flags": [], "confidence": 1.0, "source": "auto", "operator_id": None, "override_reason": None},
    ),
}


def _verdict(evidence: Evidence) -> Verdict:
    return Verdict(
        verdict_id="0193b8a0-0000-7000-8000-000000000001", revision=1, station_id="dock-01",
        site_id="site-01", session="0193b8a0-0000-7000-8000-0000000000aa", seq=7,
        item=ItemInfo(controller_item_id=7, rma="R-1042", codes=evidence.codes),
        inspection=Inspection(defect=evidence.defect, conformity=evidence.conformity),
        decision=decide(evidence, PolicyConfig()), created_at=AT, decided_at=AT)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_verdict_json_is_todays_apart_from_the_optional_reason_codes(case: str) -> None:
    evidence, decision_before = CASES[case]
    data = _verdict(evidence).to_json()
    codes = data["decision"].pop("reason_codes")
    assert data["decision"] == decision_before
    assert [render_reason(Reason.from_json(c)) for c in codes] == decision_before["reasons"]
    # This round's additive fields say what each revision changed (revision 1: the station's decision).
    assert list(data) == ["schema", "verdict_id", "revision", "change", "changed_by", "change_note",
                          "station_id", "site_id", "session", "seq",
                          "item", "inspection", "decision", "routing", "models", "timings_ms",
                          "created_at", "decided_at"]
    assert (data["change"], data["changed_by"], data["change_note"]) == ("inspected", None, None)


def test_codes_survive_json_and_an_override_adds_its_own() -> None:
    verdict = _verdict(CASES["recycled"][0])
    assert Verdict.from_json(verdict.to_json()) == verdict
    overridden = verdict.override(Disposition.MANUAL_REVIEW, "op-7", "check the seal")
    # Central reads the override as it always has, the disposition's code included ...
    assert overridden.decision.reasons[-1] == "operator op-7 changed recycle to manual_review: check the seal"
    french = render_reasons(overridden.decision, "fr")
    assert french[0] == "déchirure en haut à gauche de l'article, score 0,91 : irréparable"
    assert french[-1] == "l'opérateur op-7 a changé « Recyclage » en « Contrôle manuel » : check the seal"
    # ... the screen names it in words.
    assert render_reasons(overridden.decision, "en") == (
        *overridden.decision.reasons[:-1], "operator op-7 changed recycle to manual review: check the seal")


def test_a_verdict_from_before_codes_reads_back_and_shows_what_it_can_in_french() -> None:
    data = _verdict(CASES["recycled"][0]).to_json()
    del data["decision"]["reason_codes"]
    old = Verdict.from_json(data)
    assert old.decision.reason_codes == () and old.to_json() == data
    assert render_reasons(old.decision, "fr") == old.decision.reasons  # sentences with values stay English
    overloaded = "station overloaded: not inspected, sent to the manual lane"
    fixed = dataclasses.replace(old.decision,
                                reasons=("no barcode read", "tear, score 0.91: beyond repair", overloaded))
    assert render_reasons(fixed, "fr") == (
        "aucun code-barres lu", "tear, score 0.91: beyond repair",
        "station surchargée : article non contrôlé, envoyé sur la voie manuelle")
    # Its override stays English too: codes are all or nothing.
    assert old.override(Disposition.REPAIR, "op-7", "fine").decision.reason_codes == ()


def test_reason_codes_must_match_the_reasons_one_to_one() -> None:
    decision = _verdict(CASES["recycled"][0]).decision.to_json()
    decision["reason_codes"] = decision["reason_codes"][:1]
    with pytest.raises(VerdictError, match="reason_codes"):
        _verdict(CASES["recycled"][0]).decision.from_json(decision)
    with pytest.raises(VerdictError, match="code"):
        Reason("Not A Code")


@pytest.mark.parametrize("evidence", [
    Evidence(),
    Evidence(rma_read="R-1", camera_error="no picture", quality=Quality(10.0, exposure_ok=False)),
    Evidence(codes=(CodeRead("EAN13", GTIN_A[1:]),), rma_read="R-1",
             rma=RmaRecord("R-1", "SKU-A", DeclaredReason.DEFECTIVE), observed_sku="SKU-A",
             expected_gtins=(GTIN_A,), defect=DefectFinding(0.1, "ok"), conformity=ConformityFinding(0.2),
             dimensions=DimensionsCheck((120, 80, 40), (200, 150, 40))),
], ids=["nothing", "camera", "declared defective"])
def test_each_reason_the_policy_writes_has_its_code(evidence: Evidence) -> None:
    decision = decide(evidence, PolicyConfig())
    assert len(decision.reason_codes) == len(decision.reasons)
    assert tuple(render_reason(r, "en") for r in decision.reason_codes) == decision.reasons
    assert all(r.code in REASON_TEXTS for r in decision.reason_codes)


# --- the language setting and the status lines --------------------------------------------


def _french_config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text('[ui]\nlanguage = "fr"\n', encoding="utf-8")
    return load_config(path, env={})


def test_language_is_english_by_default_french_from_the_file_and_lang_overrides(tmp_path: Path) -> None:
    assert Config().ui.language == "en"
    config = _french_config(tmp_path)
    assert config.ui.language == "fr"
    assert with_language(config, "en").ui.language == "en"
    assert with_language(config, None) is config
    bad = tmp_path / "bad.toml"
    bad.write_text('[ui]\nlanguage = "de"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="language"):
        load_config(bad, env={})


def test_a_french_station_writes_its_status_lines_in_french(tmp_path: Path) -> None:
    config = _french_config(tmp_path)
    language = config.ui.language
    _, calibration = load_camera_calibration(config)
    assert calibration.summary == "caméra de démonstration : pas d'étalonnage nécessaire"
    disk = disk_health(DiskState(Path("/data"), 1500.0, 100, full=False), 1000, language)
    assert disk.summary == "disque : 1,5 Go libres"
    assert disk.detail.startswith("Plus que 1500 Mo libres dans /data")
    down = sync_health(PublisherStats(connected=False, backlog=12, last_error="connection refused"), language)
    assert down.summary == "MQTT coupé, 12 verdicts en attente"
    assert "connection refused" in down.detail and "Rien n'est perdu" in down.detail
    late = sync_health(PublisherStats(connected=True, backlog=3, oldest_undelivered_age_s=61.0), language)
    assert late.summary == "MQTT connecté, 3 en attente (le plus ancien depuis 61 s)"
    down_camera = CameraHealth("top", CameraState.DOWN, "cannot open /dev/video0", 10, 3, 0.0)
    camera = camera_health(down_camera, language)
    assert camera is not None and camera.summary == "caméra dessus hors service"
    assert camera.detail.startswith("cannot open /dev/video0. Les articles passent en contrôle manuel")
    models = ModelSet(defect_error="defect model not loaded: no model.onnx", language=language).health()
    assert models.summary == "aucun modèle chargé" and "contrôle manuel" in models.detail
    bridge = ConveyorBridge(lanes=None, on_trigger=print, on_routed=lambda *_: None,  # type: ignore[arg-type]
                            on_health=print, language=language)
    assert bridge.health().summary == "pas de convoyeur (table d'inspection)"


def test_an_english_station_reads_as_before() -> None:
    disk = disk_health(DiskState(Path("/data"), 5000.0, 100, full=False), 1000)
    assert disk.summary == "disk 5.0 GB free"
    assert sync_health(PublisherStats(connected=False, backlog=12, last_error="x")).summary == \
        "MQTT down, 12 verdicts waiting"


def test_the_operators_notices_follow_the_language(tmp_path: Path, store: Store,
                                                   make_verdict: Callable[..., Verdict]) -> None:
    from station.actions import ActionError, OperatorActions
    from station.config import UiConfig
    from station.pipeline import Pipeline
    from station.state import StationState

    verdict = store.record_verdict(make_verdict(1), [])
    notices: dict[str, list[str]] = {}
    for language in ("en", "fr"):
        state = StationState()
        said: list[str] = notices.setdefault(language, [])
        state.message.connect(said.append)
        # A pipeline not started: the actions' revisions are written at once, on this thread.
        pipeline = Pipeline(None, store, state, {})  # type: ignore[arg-type]
        actions = OperatorActions(state, store, pipeline=pipeline, inspector=None,  # type: ignore[arg-type]
                                  ui=UiConfig(language=language, supervisor_pin="4321"), session="s",
                                  config_file=None, on_revision=lambda: None)
        with pytest.raises(ActionError) as nobody:
            actions.confirm(verdict.verdict_id)
        said.append(str(nobody.value))
        actions.sign_in("op-7")
        with pytest.raises(ActionError) as pin:
            actions.override(verdict.verdict_id, "restock", "looks fine")
        said.append(str(pin.value))
        actions.override(verdict.verdict_id, "manual_review", "check the seal")
    # The window words what succeeded itself (naming the item); the station words what it refuses.
    assert notices["en"] == ["nobody is signed in: sign in with your operator id first",
                             "an override to restock needs the supervisor's PIN"]
    assert notices["fr"] == ["personne n'est connecté : connectez-vous d'abord avec votre identifiant "
                             "opérateur",
                             "une correction vers « Remise en stock » nécessite le code du superviseur"]
