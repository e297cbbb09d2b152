"""The one exception type a user is meant to see, and the one way to turn any exception into text.

Scripts print a UserError's message as one `error:` line and exit 2. `brief` is the only place an
exception becomes text for such a line: it never fails (empty messages, multi-line messages, an
exception a DataLoader worker raised and the main process re-raised with the worker's traceback
inside its message).
"""

from __future__ import annotations

import re


class UserError(Exception):
    """Something the user can fix (missing data, bad option). The message says what to do."""


# torch.utils.data re-raises a worker's exception as `ExcType("Caught ExcType in DataLoader worker
# process N.\nOriginal Traceback (most recent call last):\n ...\nmodule.ExcType: message")`.
_WORKER = "Original Traceback (most recent call last):"
_QUALIFIED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)?: ")


def _worker_message(text: str) -> str:
    """The message of the exception a worker raised, without the traceback around it."""
    lines = text.split(_WORKER, 1)[1].splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=-1)
    message = " ".join(lines[last_frame + 1:]).strip()
    return _QUALIFIED.sub("", message, count=1)


def brief(error: BaseException, limit: int = 300) -> str:
    """`error` as one line of at most `limit` characters: its message, or its type when it has none."""
    text = str(error)
    if _WORKER in text:
        text = _worker_message(text)
    text = " ".join(text.split())  # newlines and runs of blanks -> one space
    if text.startswith(("'", '"')) and text.endswith(text[0]) and isinstance(error, KeyError):
        text = text[1:-1]  # KeyError quotes its message
    if not text:
        return type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
