"""The one error type data-prep raises for bad input, so the CLI can print it and exit 1."""


class PrepError(Exception):
    """A problem with the user's input or a prepared dataset.

    The message names the file, the row or field, and what was expected, so the user can act on it.
    """
