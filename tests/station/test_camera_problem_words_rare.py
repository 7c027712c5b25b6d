"""The rarer camera problems in the operator's language: a French dock whose camera is a video file or
an image folder, or a GigE camera, saw "caméra dessus en panne" followed by English ("video file
/srv/returns.mp4 not found: check [camera].device"). Real sources on real files, through the real
capture thread, as the status line shows them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.station.camera_words import first_down, lines
from tests.vision.test_camera_aravis import ADDRESS, FakeCamera, fake_camera  # noqa: F401 - the fixture
from vision.camera import AravisSource, CameraHealth, CameraState, FolderSource, VideoFileSource
from vision.camera.errors import SourceError


def test_a_video_file_that_is_not_there_is_said_in_french(tmp_path: Path) -> None:
    missing = tmp_path / "returns.mp4"
    french, english = lines(first_down(VideoFileSource(missing, name="top")))
    assert french.summary == "caméra dessus hors service"
    assert french.detail.startswith(f"le fichier vidéo {missing} est introuvable : vérifiez "
                                    "[camera].device ; nouvel essai dans 0,2 s. ")
    assert english.detail.startswith(f"video file {missing} not found: check [camera].device; retrying in "
                                     "0.2 s. ")


def test_a_video_file_that_cannot_be_decoded_is_said_in_french(tmp_path: Path) -> None:
    broken = tmp_path / "returns.mp4"
    broken.write_bytes(b"not a film: a copy stopped half-way" * 100)
    french, english = lines(first_down(VideoFileSource(broken, name="top")))
    assert french.detail.startswith(f"le fichier vidéo {broken} ne peut pas être décodé : convertissez-le en "
                                    "MP4/H.264 ou MJPEG ; nouvel essai dans 0,2 s. ")
    assert english.detail.startswith(f"video file {broken} cannot be decoded: convert it to MP4/H.264 or "
                                     "MJPEG; retrying in 0.2 s. ")


def test_an_image_folder_without_images_is_said_in_french(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the pictures are on the other PC\n", encoding="utf-8")
    french, english = lines(first_down(FolderSource(tmp_path, name="top")))
    assert french.detail.startswith(f"le dossier d'images {tmp_path} ne contient aucune image (.png, .jpg, "
                                    ".jpeg, .bmp, .tif, .tiff, .webp) ; nouvel essai dans 0,2 s. ")
    assert english.detail.startswith(f"image folder {tmp_path} holds no images (.png, .jpg, .jpeg, .bmp, "
                                     ".tif, .tiff, .webp); retrying in 0.2 s. ")


def test_an_image_folder_that_is_not_there_is_said_in_french(tmp_path: Path) -> None:
    missing = tmp_path / "frames"
    french, _ = lines(first_down(FolderSource(missing, name="top")))
    assert french.detail.startswith(f"le dossier d'images {missing} est introuvable : vérifiez "
                                    "[camera].device ; nouvel essai dans 0,2 s. ")


def test_an_image_folder_whose_images_cannot_be_read_is_said_in_french(tmp_path: Path) -> None:
    """The folder opens (it lists an image) but no image reads: the camera goes down while reading."""
    (tmp_path / "0001.png").write_bytes(b"\x89PNG cut short")
    french, english = lines(first_down(FolderSource(tmp_path, name="top")))
    assert french.detail.startswith(f"aucune image de {tmp_path} n'a pu être lue ; nouvel essai dans 0,2 s. ")
    assert english.detail.startswith(f"error: no image in {tmp_path} could be read; reopening in 0.2 s. ")


def test_a_gige_camera_on_a_pc_without_aravis_is_said_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import gi` raise ImportError, as on a PC without PyGObject.
    for name in [m for m in sys.modules if m == "gi" or m.startswith("gi.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "gi", None)
    french, english = lines(first_down(AravisSource("10.0.0.7", name="top")))
    # The reason in the last brackets is Python's own (its import error), as the log has it.
    assert french.detail.startswith("la prise en charge GigE Vision n'est pas installée : installez l'extra "
                                    "`gige` et le paquet Debian gir1.2-aravis-0.8 (voir docs/cameras.md) (")
    assert english.detail.startswith("GigE Vision support is not installed: install the `gige` extra and "
                                     "Debian's gir1.2-aravis-0.8 (see docs/cameras.md) (")


@pytest.mark.parametrize(("camera_id", "french_name", "english_name"), [
    ("10.0.0.7", "la caméra GigE 10.0.0.7", "GigE camera 10.0.0.7"),
    ("", "la première caméra GigE trouvée", "the first GigE camera found"),
])
def test_a_gige_camera_is_named_in_french_inside_its_problem(
    camera_id: str, french_name: str, english_name: str
) -> None:
    """The camera's name inside the sentence is the operator's language too, not "GigE camera …"."""
    source = AravisSource(camera_id, name="top")
    problem = SourceError.said("{camera} gave no image stream: check that no other program is streaming",
                               camera=source.label)
    health = CameraHealth("top", CameraState.DOWN, f"{problem}; retrying in 0.5 s", 0, 1, 0.0, problem, 0.5)
    french, english = lines(health)
    assert french.detail.startswith(f"{french_name} n'a pas fourni de flux d'images : vérifiez qu'aucun "
                                    "autre programme ne reçoit déjà ses images ; nouvel essai dans 0,5 s. ")
    assert english.detail.startswith(f"{english_name} gave no image stream: check that no other program is "
                                     "streaming; retrying in 0.5 s. ")


def test_a_pixel_format_the_gige_camera_lacks_is_said_in_french(fake_camera: FakeCamera) -> None:  # noqa: F811
    """Aravis' fake GigE Vision camera, asked for a pixel format it does not have."""
    french, english = lines(first_down(AravisSource(ADDRESS, pixel_format="BayerBG12", name="top")))
    said = re.fullmatch(rf"la caméra GigE {re.escape(ADDRESS)} n'a pas de format de pixel 'BayerBG12' "
                        r"\(formats proposés : (.+)\) : choisissez l'un d'eux pour pixel_format de la caméra "
                        r"'top' ; nouvel essai dans 0,2 s\. Les articles passent en contrôle manuel .*",
                        french.detail)
    assert said is not None, french.detail
    assert "Mono8" in said.group(1).split(", ")  # the formats the camera has, as it names them
    assert english.detail.startswith(f"GigE camera {ADDRESS} has no pixel format 'BayerBG12': it offers ")
