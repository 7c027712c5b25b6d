"""The Settings page hides every secret whatever TOML form the file writes it in: a quoted key
("password" = ...) and the multi-line strings are TOML the station reads the same as the plain
form, so the page must not show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import load_config
from station.config_text import HIDDEN, redacted

FORMS = {
    "quoted key": '[sync]\n"password" = "s3cret-quoted-key"\n',
    "literal quoted key": "[sync]\n'password' = 's3cret-literal-key'\n",
    "multi-line basic": '[sync]\npassword = """s3cret-multi-line"""\nport = 1883\n',
    "multi-line literal": "[ui]\nsupervisor_pin = '''7391'''\nbeep = true\n",
    "multi-line with quotes inside": '[sync]\npassword = """pa"s3cret""""\nport = 1883\n',
}


@pytest.mark.parametrize("text", FORMS.values(), ids=FORMS.keys())
def test_a_secret_in_any_toml_string_form_is_hidden_and_the_rest_kept(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, env={})
    secret = config.sync.password or config.ui.supervisor_pin
    assert secret  # the station reads the secret from this form: the page must hide it
    shown = redacted(text)
    assert secret not in shown and HIDDEN in shown
    assert shown.splitlines()[0] == text.splitlines()[0]  # the table header and what follows stay
    assert text.splitlines()[2:] == shown.splitlines()[2:]


def test_empty_multi_line_secrets_read_as_not_set() -> None:
    text = 'password = """"""\nsupervisor_pin = \'\'\'\'\'\'\nport = 1883\n'
    assert redacted(text) == text
