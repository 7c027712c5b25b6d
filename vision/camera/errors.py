"""The one error every camera source raises, in a module of its own so that each source's
module and `open_source`, which builds them all, can import it without a cycle."""


class SourceError(Exception):
    """The source cannot deliver frames; the message says what to check."""
