"""The one exception type a user is meant to see: scripts print its message as one line and exit 2."""


class UserError(Exception):
    """Something the user can fix (missing data, bad option). The message says what to do."""
