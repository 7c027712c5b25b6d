"""The one error type of calibration: what failed, where, and what to do about it."""

from __future__ import annotations

__all__ = ["CalibrationError"]


class CalibrationError(Exception):
    """A calibration step refused its input; `problem` says why, `fix` what to do next."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{where}: {problem} — {fix}")
        self.where = where
        self.problem = problem
        self.fix = fix
