"""Errors that the CLI reports as one line (no traceback): bad user input, unreadable files."""


class UserError(Exception):
    """A problem with the user's input: a bad value, a missing or unsuitable file. The message says which."""
