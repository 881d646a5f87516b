"""A loopback TCP proxy in front of the real RabbitMQ, to simulate broker loss.

The real broker is shared by every test and must never be stopped; a test points its
transport at this proxy instead and switches it between three states:

- ``forward()``: pipes bytes both ways to the broker (the broker is up);
- ``down()``: closes every connection and stops listening (connection refused, as
  after ``rabbitmqctl stop``);
- ``hang()``: keeps listening and accepting, but nothing is answered and bytes on
  open connections are no longer passed on (as a ``SIGSTOP``-ped broker). Those
  connections stay silent for good, even after ``forward()`` (as after a network
  partition): a client must time out on them and reconnect.

Used by the functional tests and by ``bench/bench_emit.py``.
"""

from __future__ import annotations

import selectors
import socket
import threading

FORWARD = "forward"
DOWN = "down"
HUNG = "hung"


class BrokerProxy:
    """One proxy on a free 127.0.0.1 port; ``url`` is a rabbit:// URL through it."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.upstream = upstream
        self.mode = DOWN
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []
        self._frozen: list[tuple[socket.socket, socket.socket]] = []
        self._selector = selectors.DefaultSelector()
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._selector.register(self._wakeup_r, selectors.EVENT_READ, ("wakeup", None))
        self._stopping = False
        # Reserve a port now, so the URL stays valid while the proxy is down.
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._thread = threading.Thread(target=self._loop, name="broker-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    # -- switching -------------------------------------------------------------------

    def forward(self) -> None:
        """Listen (if needed) and pipe every connection to the broker."""
        with self._lock:
            for sock in self._held:
                sock.close()
            self._held.clear()
            self._listen()
            self.mode = FORWARD
        self._wake()

    def down(self) -> None:
        """Refuse connections and cut the open ones."""
        with self._lock:
            self.mode = DOWN
            self._close_all()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self._wake()

    def hang(self) -> None:
        """Accept connections but answer nothing, on new and open connections alike."""
        with self._lock:
            self._listen()
            self.mode = HUNG
            self._frozen.extend(self._pairs)
            self._pairs.clear()
        self._wake()

    def close(self) -> None:
        self.down()
        self._stopping = True
        self._wake()
        self._thread.join(5)
        self._selector.close()
        self._wakeup_r.close()
        self._wakeup_w.close()

    # -- internals ---------------------------------------------------------------------

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener

    def _close_all(self) -> None:
        for client, server in self._pairs + self._frozen:
            client.close()
            server.close()
        self._pairs.clear()
        self._frozen.clear()
        for sock in self._held:
            sock.close()
        self._held.clear()

    def _wake(self) -> None:
        try:
            self._wakeup_w.send(b"x")
        except OSError:
            pass

    def _register(self) -> None:
        """Re-register what the loop waits on, for the current mode."""
        for key in list(self._selector.get_map().values()):
            if key.fileobj is not self._wakeup_r:
                self._selector.unregister(key.fileobj)
        if self._listener is not None:
            self._selector.register(self._listener, selectors.EVENT_READ, ("accept", None))
        if self.mode == FORWARD:
            for client, server in self._pairs:
                self._selector.register(client, selectors.EVENT_READ, ("pipe", server))
                self._selector.register(server, selectors.EVENT_READ, ("pipe", client))

    def _loop(self) -> None:
        while not self._stopping:
            with self._lock:
                self._register()
            for key, _events in self._selector.select(timeout=1.0):
                kind, peer = key.data
                with self._lock:
                    if kind == "wakeup":
                        self._wakeup_r.recv(4096)
                    elif kind == "accept":
                        self._accept()
                    elif self.mode == FORWARD:
                        self._pipe(key.fileobj, peer)

    def _accept(self) -> None:
        if self._listener is None:
            return
        try:
            client, _addr = self._listener.accept()
        except OSError:
            return
        if self.mode != FORWARD:
            self._held.append(client)  # accepted, never answered
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        server.setblocking(False)
        self._pairs.append((client, server))

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            data = src.recv(65536)
            if data:
                dst.setblocking(True)
                dst.sendall(data)
                dst.setblocking(False)
                return
        except OSError:
            pass
        # One side closed: close the pair.
        for pair in list(self._pairs):
            if src in pair:
                self._pairs.remove(pair)
                pair[0].close()
                pair[1].close()
