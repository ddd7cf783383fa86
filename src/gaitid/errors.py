"""Errors that the command line turns into a one-line message and exit status 2."""


class GaitidError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class InputError(GaitidError):
    """An input file or source cannot be read: missing, not media, truncated."""
