"""The emulator over HTTP: AWS JSON 1.0 on a local port, with seeded fault injection.

``POST`` (any path) with ``X-Amz-Target: PinpointSMSVoiceV2.<Operation>`` and a
JSON body; SigV4 headers are ignored, so dummy credentials work. Every response
carries ``x-amzn-RequestId``. Bad input never stops the server: an unknown
target gives 400 UnknownOperationException, a body that is not a JSON object
400 SerializationException, a body over :data:`MAX_BODY_BYTES` 413
RequestEntityTooLargeException. ``X-Amz-Target: RegistrationFsmEmulator.Advance``
drives AWS-side events (see :mod:`.wire`); control requests are never faulted.
``events_file`` / ``events_url`` deliver the emulator's EventBridge events (see
:mod:`.events`) to a JSON Lines file and/or an HTTP POST for as long as it serves.

The server is bounded (:mod:`.connections`): a request must arrive whole within
``request_deadline`` seconds (else 408 RequestTimeoutException), at most
``max_connections`` connections are served at once (more wait up to
``connection_wait`` seconds for a slot, then get 503 ServiceUnavailable), and a
request whose framing is ambiguous (several Content-Length headers, any
Transfer-Encoding) gets 400 SerializationException before anything runs.
"""

from __future__ import annotations

import logging
import math
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from os import PathLike
from types import MappingProxyType
from typing import Any, cast

import attrs

from registration_fsm.emulator.api import EmulatedRegistrationApi
from registration_fsm.emulator.connections import (
    CONNECTION_WAIT,
    MAX_CONNECTIONS,
    REQUEST_DEADLINE,
    BoundedHandler,
    BoundedServer,
    check_bounds,
)
from registration_fsm.emulator.events import HttpPostSink, JsonLinesSink
from registration_fsm.emulator.validation import OPERATIONS
from registration_fsm.emulator.wire import (
    API_PREFIX,
    CONTROL_PREFIX,
    decode_json,
    dispatch,
    dispatch_control,
    encode_json,
    error_response,
)
from registration_fsm.errors import (
    BindError,
    InternalServerError,
    InvalidArgument,
    RequestSerializationError,
    RequestTooLargeError,
    ThrottledError,
    UnknownOperationError,
    shown,
)

_log = logging.getLogger(__name__)

#: Largest request body served (1 MiB); larger bodies get HTTP 413.
MAX_BODY_BYTES = 1 << 20
#: Oversized bodies up to this size are read and discarded so the client sees the 413.
_DRAIN_LIMIT = 16 << 20
_CONTENT_TYPE = "application/x-amz-json-1.0"
_LENGTH_RE = re.compile(r"[0-9]{1,15}")


@attrs.frozen
class FaultDecision:
    """What :class:`Faults` chose for one request: a delay, then maybe a fault."""

    delay: float = 0.0
    #: None, "throttle", "error" or "drop".
    action: str | None = None


class Faults:
    """Seeded faults, injected BEFORE the operation runs: a faulted request changes nothing.

    Args:
        seed: seeds the random draws; the same seed and request order give the same faults.
        latency: seconds added to every request, or a (min, max) range drawn uniformly.
        throttle_rate: share of requests answered 400 ThrottlingException.
        error_rate: share answered 500 InternalServerException.
        drop_rate: share whose connection is closed without a response.

    One draw per request picks at most one fault; the rates must sum to at most 1.
    :attr:`injected` counts what was injected.
    """

    def __init__(
        self,
        seed: int = 0,
        latency: float | tuple[float, float] = 0.0,
        throttle_rate: float = 0.0,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise InvalidArgument(f"seed must be an int, got {seed!r}")
        low, high = latency if isinstance(latency, tuple) else (latency, latency)
        if not all(_number(x) and 0 <= x <= 60 for x in (low, high)) or low > high:
            raise InvalidArgument(
                f"latency must be 0..60 seconds or a (min, max) pair: {latency!r}"
            )
        rates = {"throttle_rate": throttle_rate, "error_rate": error_rate, "drop_rate": drop_rate}
        for name, rate in rates.items():
            if not _number(rate) or not 0 <= rate <= 1:
                raise InvalidArgument(f"{name} must be in 0..1, got {rate!r}")
        if sum(rates.values()) > 1:
            raise InvalidArgument("throttle_rate + error_rate + drop_rate must not exceed 1")
        self.seed = seed
        self.latency = (float(low), float(high))
        self.throttle_rate = float(throttle_rate)
        self.error_rate = float(error_rate)
        self.drop_rate = float(drop_rate)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._injected = dict.fromkeys(("latency", "throttle", "error", "drop"), 0)

    @property
    def injected(self) -> Mapping[str, int]:
        """Faults injected so far: latency (delayed requests), throttle, error, drop."""
        with self._lock:
            return MappingProxyType(dict(self._injected))

    def decide(self) -> FaultDecision:
        """Draw the faults for one request (and count them)."""
        with self._lock:
            low, high = self.latency
            delay = self._rng.uniform(low, high) if high > 0 else 0.0
            draw = self._rng.random()
            action = None
            for name, rate in (
                ("drop", self.drop_rate),
                ("throttle", self.throttle_rate),
                ("error", self.error_rate),
            ):
                if draw < rate:
                    action = name
                    break
                draw -= rate
            if delay > 0:
                self._injected["latency"] += 1
            if action is not None:
                self._injected[action] += 1
            return FaultDecision(delay, action)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class EmulatorServer(BoundedServer):
    """A threading HTTP server bound to ``host:port`` serving ``api`` (0 picks a free port).

    ``events_file`` (a path: JSON Lines, appended) and ``events_url`` (a POST per
    event) are event sinks added to ``api`` until :meth:`server_close`.

    ``request_deadline``: seconds for a request to arrive whole (request line, headers
    and body), else 408 RequestTimeoutException; also how long a kept-alive connection
    may stay idle. ``max_connections``: connections served at once, a thread each;
    another waits up to ``connection_wait`` seconds for a slot (an idle kept-alive
    connection is closed to make room), then gets 503 ServiceUnavailable.
    Raises :class:`~registration_fsm.errors.BindError` when ``host:port`` cannot be
    listened on (a busy port, a host that cannot be resolved or bound).
    """

    def __init__(
        self,
        api: EmulatedRegistrationApi | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        *,
        events_file: str | PathLike[str] | None = None,
        events_url: str | None = None,
        request_deadline: float = REQUEST_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
        connection_wait: float = CONNECTION_WAIT,
    ) -> None:
        check_bounds(request_deadline, max_connections, connection_wait)
        if api is not None and not isinstance(api, EmulatedRegistrationApi):
            raise InvalidArgument(f"api must be an EmulatedRegistrationApi, got {api!r}")
        if faults is not None and not isinstance(faults, Faults):
            raise InvalidArgument(f"faults must be a Faults, got {faults!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise InvalidArgument(f"port must be 0..65535, got {port!r}")
        if not isinstance(host, str) or not host:
            raise InvalidArgument(f"host must be a host name or address, got {host!r}")
        post = None if events_url is None else HttpPostSink(events_url)
        self.api = EmulatedRegistrationApi() if api is None else api
        self.faults = faults
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._file_sink = None if events_file is None else JsonLinesSink(events_file)
        self._remove_sinks: list[Callable[[], None]] = []
        try:  # (a failed bind calls server_close too)
            super().__init__(
                (host, port), _Handler, request_deadline=request_deadline,
                max_connections=max_connections, connection_wait=connection_wait,
            )  # fmt: skip
        except BaseException as err:
            if self._file_sink is not None:
                self._file_sink.close()
            if isinstance(err, OSError):
                name = host if host.isprintable() and len(host) <= 100 else shown(host)
                address = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
                raise BindError(address, err.strerror or str(err), err.errno) from err
            raise
        self._remove_sinks = [
            self.api.add_event_sink(sink) for sink in (self._file_sink, post) if sink is not None
        ]

    def server_close(self) -> None:
        """Close the socket and idle connections (busy ones close after their answer);
        stop delivering events to ``events_file`` / ``events_url``."""
        super().server_close()
        for remove in self._remove_sinks:
            remove()
        self._remove_sinks = []
        if self._file_sink is not None:
            self._file_sink.close()

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        """Log a failed connection; the server keeps serving."""
        _log.debug("error serving %s", client_address, exc_info=True)


class _Handler(BoundedHandler):
    # HTTP/1.1: clients keep connections alive (every reply carries Content-Length).
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle and delayed
    # ACKs stall every kept-alive request by ~40 ms.
    disable_nagle_algorithm = True
    server_version = "registration-fsm-emulator"

    def do_POST(self) -> None:
        request_id = str(uuid.uuid4())
        server = cast(EmulatorServer, self.server)
        try:
            body = self._read_body()
        except (RequestTooLargeError, RequestSerializationError) as err:
            self.close_connection = True
            self._reply_error(err, request_id)
            return
        except OSError:
            self.close_connection = True
            return
        prefix, _, operation = (self.headers.get("X-Amz-Target") or "").partition(".")
        try:
            if prefix == API_PREFIX and operation in OPERATIONS:
                if server.faults is not None and not self._inject(server.faults, request_id):
                    return
                result = dispatch(server.api, operation, decode_json(body))
            elif prefix == CONTROL_PREFIX:
                result = dispatch_control(server.api, operation, decode_json(body))
            else:
                target = self.headers.get("X-Amz-Target")
                raise UnknownOperationError(
                    "missing X-Amz-Target header"
                    if target is None
                    else f"unknown operation {target[:100]!r}"
                )
            payload = encode_json(result)
        except Exception as err:
            self._reply_error(err, request_id)
            return
        self._reply(200, payload, request_id)

    def _inject(self, faults: Faults, request_id: str) -> bool:
        """Apply the drawn faults; False when the request must not run."""
        decision = faults.decide()
        if decision.delay > 0:
            time.sleep(decision.delay)
        if decision.action == "drop":
            self.close_connection = True
            return False
        if decision.action == "throttle":
            self._reply_error(ThrottledError("Rate exceeded (injected fault)"), request_id)
            return False
        if decision.action == "error":
            self._reply_error(
                InternalServerError("injected fault", request_id=request_id), request_id
            )
            return False
        return True

    def _read_body(self) -> bytes:
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.get_all("Transfer-Encoding"):
            raise RequestSerializationError(
                "Transfer-Encoding with Content-Length is refused"
                if lengths
                else "Transfer-Encoding is not supported: send Content-Length"
            )
        if len(lengths) > 1:
            raise RequestSerializationError(f"{len(lengths)} Content-Length headers: send one")
        if not lengths:
            return b""
        raw = lengths[0]
        if not _LENGTH_RE.fullmatch(raw.strip()):
            raise RequestSerializationError(f"invalid Content-Length {raw[:40]!r}")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            remaining = length if length <= _DRAIN_LIMIT else 0
            while remaining > 0 and (chunk := self.rfile.read(min(remaining, 1 << 16))):
                remaining -= len(chunk)
            raise RequestTooLargeError(
                f"request body of {length} bytes exceeds the {MAX_BODY_BYTES}-byte limit"
            )
        return self.rfile.read(length)

    def _reply_error(self, err: BaseException, request_id: str) -> None:
        status, body = error_response(err)
        if status >= 500:
            _log.debug("request %s failed", request_id, exc_info=err)
        self._reply(status, encode_json(body), request_id, body["__type"])

    def _reply(self, status: int, payload: bytes, request_id: str, code: str = "") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", _CONTENT_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", request_id)
            if code:
                self.send_header("x-amzn-ErrorType", code)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def send_error(
        self,
        code: int,
        message: str | None = None,
        explain: str | None = None,  # noqa: ARG002
    ) -> None:
        """Errors found by http.server itself (bad request line, unsupported method), and
        a request that missed its deadline (408), as JSON."""
        self.close_connection = True
        text = message or HTTPStatus(code).phrase
        error = "InternalServerException" if code >= 500 and code != 501 else "BadRequest"
        if code == HTTPStatus.REQUEST_TIMEOUT:
            error = "RequestTimeoutException"
        body = {"__type": error, "message": text}
        self._reply(code, encode_json(body), str(uuid.uuid4()), error)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)


@contextmanager
def serve(
    api: EmulatedRegistrationApi | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    *,
    events_file: str | PathLike[str] | None = None,
    events_url: str | None = None,
    request_deadline: float = REQUEST_DEADLINE,
    max_connections: int = MAX_CONNECTIONS,
    connection_wait: float = CONNECTION_WAIT,
) -> Iterator[str]:
    """Serve ``api`` (a new emulator if None) in a background thread; yield its URL.

    Port 0 picks a free port. The server stops and its port is released on exit.
    The keyword arguments: see :class:`EmulatorServer`.
    """
    server = EmulatorServer(
        api, host, port, faults, events_file=events_file, events_url=events_url,
        request_deadline=request_deadline, max_connections=max_connections,
        connection_wait=connection_wait,
    )  # fmt: skip
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"registration-fsm emulator {server.url}",
        daemon=True,
    )
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_forever(
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    api: EmulatedRegistrationApi | None = None,
    *,
    events_file: str | PathLike[str] | None = None,
    events_url: str | None = None,
    request_deadline: float = REQUEST_DEADLINE,
    max_connections: int = MAX_CONNECTIONS,
    connection_wait: float = CONNECTION_WAIT,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C); prints the endpoint URL first.

    The keyword arguments: see :class:`EmulatorServer` (a failed bind raises
    :class:`~registration_fsm.errors.BindError`).
    """
    server = EmulatorServer(
        api, host, port, faults, events_file=events_file, events_url=events_url,
        request_deadline=request_deadline, max_connections=max_connections,
        connection_wait=connection_wait,
    )  # fmt: skip
    print(server.url, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
