"""``ImageSendIterator``: the WSGI response body that sends ``image.send`` once a
download is over (``faultwrap.emitters.image.ImageSendIterator`` is the same class)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from oslo_config import cfg

from faultwrap.emitters.image import notify_image_send


def _chunk_length(chunk: Any) -> int:
    try:
        return len(chunk)
    except TypeError:
        return 0


class ImageSendIterator:
    """A WSGI response body that sends ``image.send`` once the transfer is over.

    Wrap the image data iterable and return this as the response body. The
    notification goes out exactly once: when the data is exhausted (INFO if the
    size matches), when iterating the data raises, or when the server calls
    ``close()`` before the end (client gone: ERROR with the bytes really sent). A
    chunk counts as sent once the server asks for the next one or the data ends,
    i.e. once it was written; ``close()`` of the wrapped body is always called.
    Glance sent nothing when the client went away; its cache path added
    ``destination_ip`` and its API path did not; here both are always there.
    """

    def __init__(
        self,
        body: Iterable[bytes],
        context: Any,
        image: Any,
        *,
        expected_size: int | None = None,
        destination_ip: str | None = None,
        conf: cfg.ConfigOpts | None = None,
        host: str | None = None,
    ) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._context = context
        self._image = image
        self._expected_size = expected_size
        self._destination_ip = destination_ip
        self._conf = conf
        self._host = host
        self._pending = 0
        self._lock = threading.Lock()
        self._notified = False
        self.bytes_sent = 0

    def __iter__(self) -> ImageSendIterator:
        return self

    def __next__(self) -> bytes:
        self.bytes_sent += self._pending
        self._pending = 0
        try:
            if self._iterator is None:
                self._iterator = iter(self._body)
            chunk = next(self._iterator)
        except StopIteration:
            self._notify(complete=True)
            raise
        except BaseException:
            self._notify(complete=False)
            raise
        self._pending = _chunk_length(chunk)
        return chunk

    def close(self) -> None:
        """PEP 3333 close(): report a transfer cut short, then close the wrapped body."""
        try:
            self._notify(complete=False)
        finally:
            close = getattr(self._body, "close", None)
            if callable(close):
                close()

    def _notify(self, complete: bool) -> None:
        with self._lock:
            if self._notified:
                return
            self._notified = True
        if complete:
            self.bytes_sent += self._pending
            self._pending = 0
        notify_image_send(
            self._context, self._image, self.bytes_sent,
            expected_size=self._expected_size, destination_ip=self._destination_ip,
            complete=complete, conf=self._conf, host=self._host,
        )  # fmt: skip
