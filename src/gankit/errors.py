"""The one exception type that means "the user asked for something wrong"."""


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit code 2, no traceback."""
