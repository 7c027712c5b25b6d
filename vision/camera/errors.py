"""The one error every frame source raises, apart so that each source module can import it."""


class SourceError(Exception):
    """The source cannot deliver frames; the message says what to check."""
