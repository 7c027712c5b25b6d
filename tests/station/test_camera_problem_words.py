"""A camera's problem in the operator's language: the status line of a French dock said "caméra dessus en
panne" and then, in English, "no video device '/dev/video99' on this PC: unplugged, or it has another
number". Each problem vision/camera names (SourceError.said) has words in the station's catalogue."""

from __future__ import annotations

import ast
from pathlib import Path

from station.devices import CAMERA_PHRASES, CAMERA_PROBLEMS
from station.i18n import tr
from tests.station.camera_words import first_down, lines
from vision.camera import OpenCVSource
from vision.camera.capture import FROZEN

ROOT = Path(__file__).resolve().parents[2]


def _written_in_vision(called: str) -> set[str]:
    """Every template vision/camera gives `called` (SourceError.said, Phrase), as written there."""
    found = set()
    for path in (ROOT / "vision" / "camera").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == called and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def _said_in_vision() -> set[str]:
    """Every template vision/camera gives SourceError.said, as written there."""
    return _written_in_vision("said") | {FROZEN}


def test_every_problem_a_camera_names_has_french_words() -> None:
    said = _said_in_vision()
    assert len(said) >= 24  # the USB, stream, GigE, video file, image folder and frozen cases
    listed = {message.text for message in CAMERA_PROBLEMS}
    assert said <= listed, f"add to station.devices.CAMERA_PROBLEMS: {sorted(said - listed)}"
    untranslated = [text for text in said if tr("CameraProblem", text, "fr") == text]
    assert untranslated == []


def test_every_phrase_inside_a_problem_has_french_words() -> None:
    """The words inside a problem's values ("GigE camera 10.0.0.7") are said in French too."""
    phrases = _written_in_vision("Phrase")
    assert {"GigE camera {id}", "the first GigE camera found"} <= phrases
    listed = {message.text for message in CAMERA_PHRASES}
    assert phrases <= listed, f"add to station.devices.CAMERA_PHRASES: {sorted(phrases - listed)}"
    assert [text for text in phrases if tr("CameraProblem", text, "fr") == text] == []


def test_no_error_a_running_camera_can_meet_is_left_in_english_only() -> None:
    """Only errors the station cannot meet while a camera runs stay plain `SourceError(...)`: those
    raised when a source is built (`__init__`, `open_source`: the station then refuses to start, in the
    terminal), those of a source read before it was opened, and the test camera's."""
    plain = set()
    for path in (ROOT / "vision" / "camera").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        building = {id(node) for function in ast.walk(tree)
                    if isinstance(function, ast.FunctionDef) and function.name in ("__init__", "open_source")
                    for node in ast.walk(function)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "SourceError" and id(node) not in building):
                plain.add(ast.unparse(node.args[0]))
    assert plain == {
        "'synthetic camera unplugged (test)'",
        "f'camera {self.device!r} is not open'",
        "f'video file {self.path} is not open'",
        "f'stream {self.shown_url} is not open'",
        "f'{self.label} is not open'",
    }


def test_an_unplugged_camera_is_said_in_french_with_its_retry() -> None:
    """A real capture thread on a device that is not there, as the status line shows it."""
    french, english = lines(first_down(OpenCVSource("/dev/video97", name="top")))
    assert french.detail.startswith("pas de caméra '/dev/video97' sur ce PC : débranchée, ou elle a pris un "
                                    "autre numéro ; nouvel essai dans 0,2 s. ")
    # English as the log has it, unchanged.
    assert english.detail.startswith("no video device '/dev/video97' on this PC: unplugged, or it has "
                                     "another number; retrying in 0.2 s. ")
