"""Where sign-in may send a person afterwards: a path on this site, or nowhere.

Browsers read a redirect's Location more loosely than Python's `urlsplit`: they drop tabs and line breaks anywhere
(`/\\t/evil.example` becomes `//evil.example`, another host), treat `\\` as `/` (`/\\evil`), and ignore leading
spaces and control characters. So a target is accepted only when nothing in it could be read that way: it starts with
one `/`, holds no `\\`, no whitespace and no control character, and parses with neither scheme nor host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.urls import iri_to_uri

MAX_LENGTH = 2000  # longer than any page's address here; a longer one is not a link anyone followed


def same_site_path(target: str | None) -> str | None:
    """The target as an ASCII path (non-ASCII percent-encoded, as a Location header needs), or None if refused."""
    if not target or len(target) > MAX_LENGTH:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(char.isspace() or not char.isprintable() for char in target):
        return None
    encoded = iri_to_uri(target)
    parts = urlsplit(encoded)
    if parts.scheme or parts.netloc or not encoded.startswith("/") or encoded.startswith("//"):
        return None
    return encoded
