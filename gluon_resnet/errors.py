"""The one exception type for bad input: its message is a single line that says what to do."""


class UserError(Exception):
    """Bad input the user can fix. Command-line tools print the message and exit with status 2."""
