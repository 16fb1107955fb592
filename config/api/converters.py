"""Path converters of the API's URLs."""

from django.urls.converters import IntConverter, StringConverter


class TextConverter(StringConverter):
    """A name in a path (a username, a topic): any character but "/" and NUL. PostgreSQL text holds
    no NUL, so no name has one, and a lookup with it would fail in the database (a 500): such a path
    matches nothing and gets the API's JSON 404."""

    regex = "[^/\x00]+"


class IdConverter(IntConverter):
    """A row id in a path: digits up to the largest 64-bit integer (PostgreSQL's ``bigint``,
    SQLite's ``INTEGER``). A longer number names no row, but written into a statement (a like's
    ``INSERT ... SELECT``) it overflows the column, a 500: such a path matches nothing and gets the
    API's JSON 404."""

    MAX = 2**63 - 1

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.MAX:
            raise ValueError("Not an id.")
        return number
