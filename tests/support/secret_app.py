"""A WSGI app that raises a corpus text at every place a PEP 3333 app can fail.

``/<place>/<index>`` raises ``RuntimeError(CORPUS[index].text)``:

* ``call``: while called, before ``start_response``;
* ``iter-before``: in its body, before the first byte;
* ``iter-after``: in its body, after the first byte went out;
* ``write``: after writing bytes through ``start_response``'s ``write()``;
* ``close``: in ``close()``, after a complete body;
* ``close-after-fault``: in its body before the first byte, and in ``close()`` too;
* ``iter-after-close``: in its body after the first byte, and in ``close()`` too.

Any other path answers ``200 ok``. ``app_factory`` is the paste entry point the server
tests load (``paste.app_factory = tests.support.secret_app:app_factory``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tests.support.secrets import CORPUS

PLACES = ("call", "iter-before", "iter-after", "write", "close", "close-after-fault",
          "iter-after-close")
#: Places where the response had started: the server aborts it and logs the error.
STARTED = frozenset({"iter-after", "write", "close", "iter-after-close"})
FIRST_CHUNK = b"first chunk;"


class _Body:
    """An app iterable that fails where asked, in ``next()`` or in ``close()``."""

    def __init__(self, text: str, fail_next: bool, fail_close: bool, chunks: int) -> None:
        self.text = text
        self.fail_next = fail_next
        self.fail_close = fail_close
        self.left = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.left == 0:
            if self.fail_next:
                raise RuntimeError(self.text)
            raise StopIteration
        self.left -= 1
        return FIRST_CHUNK

    def close(self) -> None:
        if self.fail_close:
            raise RuntimeError(self.text)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    if len(parts) != 2 or parts[0] not in PLACES:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    place, text = parts[0], CORPUS[int(parts[1])].text
    if place == "call":
        raise RuntimeError(text)
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    if place == "write":
        write(FIRST_CHUNK)
        raise RuntimeError(text)
    return _Body(
        text,
        fail_next=place in ("iter-before", "iter-after", "close-after-fault", "iter-after-close"),
        fail_close=place in ("close", "close-after-fault", "iter-after-close"),
        chunks=1 if place in ("iter-after", "close", "iter-after-close") else 0,
    )


def app_factory(global_conf: Any, **local_conf: Any) -> Callable[..., Any]:
    return application


def cases() -> list[tuple[str, int]]:
    """Every (place, corpus index) pair."""
    return [(place, index) for place in PLACES for index in range(len(CORPUS))]
