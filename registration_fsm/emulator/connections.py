"""Bounds on the emulator's HTTP server: a deadline per request, a cap on connections.

:class:`BoundedServer` serves at most ``max_connections`` connections at once, a
thread each; a connection over the cap waits up to ``connection_wait`` seconds for
a slot (an idle kept-alive connection is closed to make room), then is answered
503 ServiceUnavailable and closed. :class:`BoundedHandler` reads each request
under one deadline for the whole of it: request line, headers and body must
arrive within ``request_deadline`` seconds, else 408 (or, when nothing of the
request came, the connection is closed: the idle timeout of a kept-alive
connection). Neither depends on what is served.
"""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from collections import deque
from contextlib import suppress
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from math import isfinite
from typing import TYPE_CHECKING, Any

from registration_fsm.emulator.wire import encode_json
from registration_fsm.errors import InvalidArgument

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: Default seconds for a request to arrive whole (request line, headers, body), and for
#: a kept-alive connection to stay idle between requests.
REQUEST_DEADLINE = 30.0
#: Default cap on the connections served at once (a thread each).
MAX_CONNECTIONS = 64
#: Default seconds a connection over the cap waits for a slot before its 503.
CONNECTION_WAIT = 5.0
#: Connections waiting for a slot, at most; one more is refused at once.
MAX_WAITING = 128
#: The error code of a refused connection, answered HTTP 503 (AWS's common error for a
#: temporary failure of the server).
UNAVAILABLE = "ServiceUnavailable"


def check_bounds(request_deadline: float, max_connections: int, connection_wait: float) -> None:
    """Refuse bounds that are not numbers in range (InvalidArgument)."""

    def seconds(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and isfinite(value)

    if not seconds(request_deadline) or not 0 < request_deadline <= 3600:
        raise InvalidArgument(f"request_deadline must be in (0, 3600] s, got {request_deadline!r}")
    if not seconds(connection_wait) or not 0 <= connection_wait <= 3600:
        raise InvalidArgument(f"connection_wait must be 0..3600 s, got {connection_wait!r}")
    if (
        not isinstance(max_connections, int)
        or isinstance(max_connections, bool)
        or not 1 <= max_connections <= 10_000
    ):
        raise InvalidArgument(f"max_connections must be 1..10000, got {max_connections!r}")


class DeadlineInput(io.RawIOBase):
    """A connection's reads, each bounded by what is left of its request's deadline."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        super().__init__()
        self._sock = sock
        self._seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.received = 0  # bytes of the current request
        self.served = 0  # requests answered
        self.idle = False  # blocked waiting for a next request's first byte
        self.expired = False
        self.evicted = False

    def readable(self) -> bool:
        return True

    def begin(self) -> None:
        """A new request: its deadline starts now."""
        self.deadline = time.monotonic() + self._seconds
        self.received = 0
        self.expired = False

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.expired = True
            raise TimeoutError("request deadline passed")
        self._sock.settimeout(remaining)
        self.idle = self.received == 0 and self.served > 0
        try:
            count = self._sock.recv_into(buffer)
        except TimeoutError:
            self.expired = True
            raise
        finally:
            self.idle = False
        self.received += count
        return count

    def evict(self) -> None:
        """End the connection from another thread: its blocked read sees end of file."""
        self.evicted = True
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


class BoundedServer(ThreadingHTTPServer):
    """A threading HTTP server with a capped number of connection threads (see the module)."""

    daemon_threads = True
    #: Listen backlog: the stdlib's 5 drops connections when a client opens many at once.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BoundedHandler],
        *,
        request_deadline: float = REQUEST_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
        connection_wait: float = CONNECTION_WAIT,
    ) -> None:
        check_bounds(request_deadline, max_connections, connection_wait)
        self.request_deadline = float(request_deadline)
        self.max_connections = max_connections
        self.connection_wait = float(connection_wait)
        self.slots_lock = threading.Lock()
        self.connections: set[DeadlineInput] = set()
        self._active = 0  # connection threads running
        self._waiting: deque[tuple[socket.socket, Any, float]] = deque()
        self._closing = False
        super().__init__(address, handler)

    @property
    def crowded(self) -> bool:
        """True when connections wait for a slot (or the server is closing): a
        connection then closes after its answer rather than stay idle."""
        return self._closing or bool(self._waiting)

    @property
    def thread_name(self) -> str:
        """The name of every connection thread of this server."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"registration-fsm emulator {name}:{port} connection"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread if a slot is free, else queue it (or refuse it)."""
        with self.slots_lock:
            start = not self._closing and self._active < self.max_connections
            if start:
                self._active += 1
            elif (
                not self._closing and self.connection_wait > 0 and len(self._waiting) < MAX_WAITING
            ):
                self._waiting.append((request, client_address, time.monotonic()))
                self._evict_idle()
                return
        if not start:
            self.refuse(request)
            return
        try:
            threading.Thread(
                target=self._serve_connections,
                args=(request, client_address),
                name=self.thread_name,
                daemon=True,
            ).start()
        except RuntimeError:  # no thread to be had
            with self.slots_lock:
                self._active -= 1
            self.refuse(request)

    def _serve_connections(self, request: socket.socket, client_address: Any) -> None:
        """One slot's thread: serve a connection, then the oldest waiting one, until none."""
        job: tuple[socket.socket, Any] | None = (request, client_address)
        while job is not None:
            try:
                self.finish_request(*job)
            except Exception:
                self.handle_error(*job)
            finally:
                self.shutdown_request(job[0])
            job = self._next_waiting()

    def _next_waiting(self) -> tuple[socket.socket, Any] | None:
        """The oldest connection still worth serving, or None (and the slot is freed)."""
        stale: list[socket.socket] = []
        job = None
        with self.slots_lock:
            now = time.monotonic()
            while self._waiting and job is None:
                request, address, since = self._waiting.popleft()
                if self._closing or now - since > self.connection_wait:
                    stale.append(request)
                else:
                    job = (request, address)
            if job is None:
                self._active -= 1
        for request in stale:
            self.refuse(request)
        return job

    def _evict_idle(self) -> None:
        """Close idle kept-alive connections, one per waiting connection (lock held)."""
        needed = len(self._waiting) - sum(1 for c in self.connections if c.evicted)
        for connection in self.connections:
            if needed <= 0:
                break
            if connection.idle and not connection.evicted:
                connection.evict()
                needed -= 1

    def service_actions(self) -> None:
        """Between accepts: refuse connections that waited too long; make room for the rest."""
        stale: list[socket.socket] = []
        with self.slots_lock:
            now = time.monotonic()
            while self._waiting and now - self._waiting[0][2] > self.connection_wait:
                stale.append(self._waiting.popleft()[0])
            if self._waiting:
                self._evict_idle()
        for request in stale:
            self.refuse(request)

    def refuse(self, request: socket.socket) -> None:
        """Answer 503 ServiceUnavailable without blocking (if the socket takes it), then close."""
        body = encode_json({"__type": UNAVAILABLE, "message": "too many connections; retry"})
        head = (
            "HTTP/1.1 503 Service Unavailable\r\n"
            f"Date: {formatdate(usegmt=True)}\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(body)}\r\nx-amzn-RequestId: {uuid.uuid4()}\r\n"
            f"x-amzn-ErrorType: {UNAVAILABLE}\r\nConnection: close\r\n\r\n"
        )
        with suppress(OSError):
            request.setblocking(False)
            request.send(head.encode() + body)
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        """Close after a FIN, discarding what the client already sent: a close with
        unread bytes would reset the connection and could lose the answer."""
        with suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            request.setblocking(False)
            for _ in range(16):
                if not request.recv(1 << 16):
                    break
        self.close_request(request)

    def server_close(self) -> None:
        """Close the socket, then idle and waiting connections (busy ones close after
        their answer)."""
        super().server_close()
        with self.slots_lock:
            self._closing = True
            waiting = [entry[0] for entry in self._waiting]
            self._waiting.clear()
            for connection in self.connections:
                if connection.idle:
                    connection.evict()
        for request in waiting:
            self.refuse(request)


class BoundedHandler(BaseHTTPRequestHandler):
    """Reads each request under :attr:`BoundedServer.request_deadline`; answers
    408 (through :meth:`send_error`) when part of a request came but not all in time."""

    server: BoundedServer
    _input: DeadlineInput
    _answered = False

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._input = DeadlineInput(self.connection, self.server.request_deadline)
        self.rfile = io.BufferedReader(self._input)
        with self.server.slots_lock:
            self.server.connections.add(self._input)

    def finish(self) -> None:
        with self.server.slots_lock:
            self.server.connections.discard(self._input)
        super().finish()

    def handle_one_request(self) -> None:
        if self.server.crowded and self._input.served:
            self.close_connection = True  # make room rather than wait for a next request
            return
        self._input.begin()
        self._answered = False
        super().handle_one_request()
        if self._answered:
            self._input.served += 1
        elif self._input.expired:
            self.close_connection = True
            if self._input.received:
                if not hasattr(self, "requestline"):  # timed out in the first request line
                    self.requestline, self.request_version, self.command = "", "", ""
                seconds = self.server.request_deadline
                self.send_error(
                    HTTPStatus.REQUEST_TIMEOUT, f"the request did not arrive whole in {seconds:g} s"
                )

    def send_response(self, code: int, message: str | None = None) -> None:
        """Start an answer: writes get the deadline too; a crowded server closes after it."""
        self._answered = True
        if self.server.crowded:
            self.close_connection = True
        self.connection.settimeout(self.server.request_deadline)
        super().send_response(code, message)
