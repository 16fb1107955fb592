"""Path converters of the API's URLs."""

from django.urls.converters import StringConverter


class TextConverter(StringConverter):
    """A name in a path (a username, a topic): any character but "/" and NUL. PostgreSQL text holds
    no NUL, so no name has one, and a lookup with it would fail in the database (a 500): such a path
    matches nothing and gets the API's JSON 404."""

    regex = "[^/\x00]+"
