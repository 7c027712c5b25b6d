"""The one error every frame source raises, apart so that each source module can import it."""

from __future__ import annotations

from collections.abc import Mapping


class Phrase:
    """Words inside a said error's values ("GigE camera 10.0.0.7"): English wherever it is formatted,
    and kept as `template` and `values` so that the station can say them in the operator's language
    too, rather than leave English inside a translated sentence."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values: dict[str, object] = dict(values)

    def __str__(self) -> str:
        return self.template.format(**self.values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Phrase({str(self)!r})"


class SourceError(Exception):
    """The source cannot deliver frames; the message says what to check.

    An error made with `said(template, **values)` also keeps its English `template` and `values`,
    so the station can say it again in the operator's language (the message stays the English).
    A value that is a `Phrase` is said in that language too.
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
