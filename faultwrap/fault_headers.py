"""The headers a fault copies from the exception: only those a WSGI server can send.

A framework HTTP exception may carry headers (Allow, WWW-Authenticate, Retry-After);
the fault keeps them, minus its own body headers, hop-by-hop headers and anything
that would make the server reject the whole response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from faultwrap import http_errors, scrub

#: Headers never copied from an exception: the fault sets its own body headers, and
#: hop-by-hop headers are forbidden to WSGI applications (PEP 3333).
DROPPED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)

#: An RFC 9110 header name (a token): anything else makes the server reject the
#: whole response, and the client would get the server's own error page instead.
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")

def _header_items(headers: Any) -> Iterable[tuple[Any, Any]]:
    if headers is None:
        return ()
    items = http_errors.attr(headers, "items")
    if callable(items):
        return list(items())
    return list(headers)


def copied_headers(exc: BaseException) -> list[tuple[str, str]]:
    """The exception's headers (a framework's own, else ``headers``) as ``(str, str)``
    pairs, minus body and hop-by-hop headers and anything that would break the response
    (a name that is not a token, a value with control characters or outside latin-1)."""
    kind = http_errors.kind_of(exc)
    try:
        headers = kind.headers(exc) if kind is not None else http_errors.attr(exc, "headers")
        items = _header_items(headers)
    except Exception:  # noqa: BLE001 - unreadable headers are not copied
        return []
    result = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            continue
        name, value = scrub.to_text(name), scrub.to_text(value)
        if not _HEADER_NAME_RE.match(name) or name.lower() in DROPPED_HEADERS:
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or not _is_latin1(value):
            continue
        result.append((name, value))
    return result


def _is_latin1(value: str) -> bool:
    """PEP 3333 header values are latin-1 strings; other text cannot be sent."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
