"""The one error every frame source raises, apart so that each source module can import it."""

from __future__ import annotations

from collections.abc import Mapping


class SourceError(Exception):
    """The source cannot deliver frames; the message says what to check.

    An error made with `said(template, **values)` also keeps its English `template` and `values`,
    so the station can say it again in the operator's language (the message stays the English).
    """

    def __init__(self, message: str, *, template: str | None = None,
                 values: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.values: dict[str, object] = dict(values or {})

    @classmethod
    def said(cls, template: str, **values: object) -> SourceError:
        """The error whose message is `template` with its `{placeholders}` filled from `values`."""
        return cls(template.format(**values), template=template, values=values)
