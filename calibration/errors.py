"""The one error type of calibration: what failed, where, and what to do about it."""

from __future__ import annotations

from calibration.hints import Hint

__all__ = ["CalibrationError"]


class CalibrationError(Exception):
    """A calibration step refused its input; `problem` says why, `fix` what to do next (English);
    `hint`, when given, says the same as a code and its values for a screen in another language."""

    def __init__(self, where: str, problem: str, fix: str, hint: Hint | None = None) -> None:
        super().__init__(f"{where}: {problem} — {fix}")
        self.where = where
        self.problem = problem
        self.fix = fix
        self.hint = hint
