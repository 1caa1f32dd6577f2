"""The service runtime: a service's handlers behind push endpoints or streaming pulls, plus its admin app."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import fastapi
import uvicorn

from services.common import admin, errors, push, telemetry, topology
from services.common.config import Settings
from services.common.storage import Storage
from services.common.telemetry import Telemetry
from services.common.transport import Handler, Message, Outcome, Subscription, Transport

log = logging.getLogger("prio_stream.runtime")


@dataclass
class ServiceContext:
    """Everything a service needs, built once from settings."""

    settings: Settings
    storage: Storage
    transport: Transport
    telemetry: Telemetry


@dataclass
class ServiceDefinition:
    """What a service's `build(ctx)` returns."""

    name: str  # the service's name, e.g. "verifier" (services/registry.py)
    handlers: dict[str, Handler]  # subscription name (architecture doc) -> handler
    router: fastapi.APIRouter | None = None  # the service's own admin routes
    background: list[Callable[[threading.Event], None]] = field(default_factory=list)
    # name -> check raising on failure; shown by /__heartbeat__ (storage is always checked)
    heartbeat_checks: dict[str, Callable[[], None]] = field(default_factory=dict)
    # Runs on shutdown while deliveries can still be acked (before the subscriptions stop):
    # ingest writes the partitions it holds, so that their pings' acks go out.
    drain: Callable[[], None] | None = None
    # subscription -> its own cap on push bodies (push.BodyLimit); others take Pub/Sub's.
    push_limits: dict[str, push.BodyLimit] = field(default_factory=dict)
    # name -> what an admin route does, for a caller in the same process (embedded mode):
    # the aggregator's "close", ingest's "import".
    actions: dict[str, Callable[..., dict]] = field(default_factory=dict)


def build_context(settings: Settings, service_name: str = "prio-stream") -> ServiceContext:
    """The adapters the settings choose (STORAGE, TRANSPORT, OTEL_EXPORTER)."""
    from services.common.factory import make_storage, make_transport

    return ServiceContext(
        settings=settings,
        storage=make_storage(settings),
        transport=make_transport(settings),
        telemetry=Telemetry.from_exporter(settings.otel_exporter, service_name),
    )


def load_definition(name: str, ctx: ServiceContext,
                    services: Mapping[str, Callable[[ServiceContext], ServiceDefinition]]
                    ) -> ServiceDefinition:
    """services[name](ctx): the build of a service the caller provides (services/registry.py);
    name may also be `package.module:function`, e.g. a test's service."""
    if ":" in name:
        module_name, function = name.split(":", 1)
        return getattr(importlib.import_module(module_name), function)(ctx)
    if name not in services:
        raise ValueError(f"unknown service {name!r} (one of {', '.join(services)})")
    return services[name](ctx)


class Dispatcher:
    """Runs one message through a handler inside a consumer span, counting outcomes."""

    def __init__(self, definition: ServiceDefinition, ctx: ServiceContext):
        self.definition = definition
        self.telemetry = ctx.telemetry
        self.server_id = "ingest" if definition.name == "ingest" else ctx.settings.server_id
        self._handled = ctx.telemetry.counter(
            "prio.messages.handled", description="messages by subscription and outcome"
        )
        self._latency = ctx.telemetry.histogram(
            "prio.messages.handle_duration", description="handler time per message"
        )

    def __call__(self, message: Message) -> Outcome:
        """Returns the handler's outcome (None or a future: see transport.Handler); raises to
        nack."""
        handler = self.definition.handlers[message.subscription]
        started = time.monotonic()
        with self.telemetry.consume(f"{message.subscription} process", message.attributes) as span:
            span.set_attribute("messaging.message.id", message.message_id)
            span.set_attribute("messaging.destination.subscription.name", message.subscription)
            span.set_attributes(telemetry.attributes(self.server_id, message.attributes))
            if message.delivery_attempt is not None:
                span.set_attribute("messaging.gcp_pubsub.message.delivery_attempt",
                                   message.delivery_attempt)
            try:
                outcome = handler(message)
            except Exception as error:
                self._count(message, started, error)
                raise
        if outcome is None:
            self._count(message, started, None)
        else:  # a deferred ack: counted (and timed) when it settles
            outcome.add_done_callback(
                lambda done: self._count(message, started, done.exception()))
        return outcome

    def _count(self, message: Message, started: float, error: BaseException | None) -> None:
        if error is None:
            outcome = "ack"
        elif isinstance(error, errors.TRANSIENT_ERRORS):
            outcome = "retry"
            log.warning("handler will retry", extra=_log_fields(message, error))
        else:
            outcome = "error"
            log.error("handler failed", extra=_log_fields(message, error),
                      exc_info=(type(error), error, error.__traceback__))
        labels = {"subscription": message.subscription, "outcome": outcome,
                  "prio.server_id": self.server_id or ""}
        self._handled.add(1, labels)
        self._latency.record(time.monotonic() - started, labels)


def _log_fields(message: Message, error: BaseException) -> dict:
    return {
        "subscription": message.subscription,
        "message_id": message.message_id,
        "delivery_attempt": message.delivery_attempt,
        "error": type(error).__name__,
    }


class BackgroundTasks:
    """The definition's background callables, each on its own thread, sharing one stop event."""

    def __init__(self, definition: ServiceDefinition):
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(task,), name=f"bg-{i}", daemon=True)
            for i, task in enumerate(definition.background)
        ]
        self.failed: list[str] = []

    def _run(self, task: Callable[[threading.Event], None]) -> None:
        try:
            task(self.stop_event)
        except Exception:
            self.failed.append(getattr(task, "__name__", repr(task)))
            log.exception("background task failed", extra={"task": repr(task)})

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))


def build_app(
    definition: ServiceDefinition,
    ctx: ServiceContext,
    *,
    run_background: bool = True,
    subscriptions: dict[str, Subscription] | None = None,
) -> fastapi.FastAPI:
    """Push endpoints `POST /push/{subscription}`, Dockerflow endpoints (open), dead letters and
    the service's own router (both behind ADMIN_AUTH), docs. With run_background, the app's
    lifespan runs the background tasks (`serve`); the worker runs them itself."""
    background = BackgroundTasks(definition) if run_background else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: fastapi.FastAPI):
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                await asyncio.to_thread(background.stop)

    app = fastapi.FastAPI(
        title=f"prio-stream {definition.name}",
        version=admin.package_version(),
        lifespan=lifespan,
    )
    app.add_exception_handler(errors.Refused, admin.refusal_response)
    app.include_router(push.router(Dispatcher(definition, ctx), set(definition.handlers),
                                   ctx.settings, definition.push_limits))
    checks = {
        "storage": lambda: admin.check_storage(ctx, definition.name),
        **definition.heartbeat_checks,
    }
    if subscriptions is not None:
        checks["subscriptions"] = lambda: admin.check_subscriptions(subscriptions)
    if background is not None:
        checks["background"] = lambda: admin.check_background(background.failed)
    app.include_router(admin.dockerflow_router(checks))
    # Every admin route, whatever router defines it, passes the one guard: reads need a
    # reader or operator, anything else an operator (ADMIN_AUTH).
    guarded = [fastapi.Depends(admin.admin_guard(ctx.settings))]
    app.include_router(admin.dead_letters_router(definition.handlers, ctx), dependencies=guarded,
                       responses=admin.REFUSALS)
    if definition.router is not None:
        app.include_router(definition.router, dependencies=guarded, responses=admin.REFUSALS)
    return app


def serve(definition: ServiceDefinition, ctx: ServiceContext) -> None:
    """`prio-stream serve NAME`: the app (push endpoints + admin) on PORT; uvicorn handles SIGTERM."""
    app = build_app(definition, ctx, run_background=True)
    try:
        uvicorn.run(app, host="0.0.0.0", port=ctx.settings.port, log_config=None)
    finally:
        ctx.telemetry.shutdown()  # exports what the batch processors still hold


class _Reopening(Subscription):
    """One subscription's streaming pull, opened again with exponential backoff whenever it
    ends on its own: a broker outage or restart (the Pub/Sub emulator loses every subscription
    with its memory) must not end the worker; re-provisioning brings the subscription back and
    the worker resumes by itself. Meanwhile error() reports the failure (heartbeat unhealthy)
    and each failure is logged. `check` is called by the worker's loop."""

    def __init__(self, open_pull: Callable[[], Subscription], name: str,
                 first_delay: float = 1.0, max_delay: float = 30.0):
        self._open = open_pull
        self.name = name
        self.first_delay, self.max_delay = first_delay, max_delay
        self._delay = first_delay
        self._current: Subscription | None = None
        self._failure: BaseException | None = None
        self._retry_at = 0.0
        self._opened_at = 0.0
        self._reopen(time.monotonic())

    def error(self) -> BaseException | None:
        current = self._current  # the heartbeat asks from another thread
        if current is None:
            return self._failure  # waiting to re-open
        return current.error()

    def check(self, now: float) -> None:
        if self._current is None:
            if now >= self._retry_at:
                self._reopen(now)
            return
        error = self._current.error()
        if error is None:
            if now - self._opened_at >= self.max_delay:
                self._delay = self.first_delay  # up long enough: the next failure is a new one
            return
        self._failed(error, now)
        previous, self._current = self._current, None
        previous.stop()  # already ended; returns once its handlers are done

    def _reopen(self, now: float) -> None:
        try:
            self._current = self._open()
        except Exception as error:  # noqa: BLE001 - any reason: retried after the backoff
            self._failed(error, now)
            return
        self._opened_at = now
        if self._failure is not None:
            log.info("subscription re-opened", extra={"subscription": self.name})

    def _failed(self, error: BaseException, now: float) -> None:
        self._failure = error
        log.error("subscription failed; re-opening it after a backoff",
                  extra={"subscription": self.name, "error": repr(error),
                         "retry_in_seconds": self._delay})
        self._retry_at = now + self._delay
        self._delay = min(self._delay * 2, self.max_delay)

    def stop(self) -> None:
        if self._current is not None:
            self._current.stop()


def run_worker(
    definition: ServiceDefinition, ctx: ServiceContext, stop: threading.Event | None = None
) -> int:
    """`prio-stream worker NAME`: streaming pull on every handler's subscription, the admin app
    on PORT and the background tasks, until SIGTERM/SIGINT (or `stop`). Returns the exit code:
    1 if the admin app died. A subscription whose streaming pull fails (e.g. NOT_FOUND while
    the broker lost it) is re-opened with backoff, not fatal: see _Reopening."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    subscriptions: dict[str, _Reopening] = {}
    app = build_app(definition, ctx, run_background=False, subscriptions=subscriptions)
    server = uvicorn.Server(
        uvicorn.Config(app, host="0.0.0.0", port=ctx.settings.port, log_config=None)
    )
    http = threading.Thread(target=server.run, name="admin-http", daemon=True)
    http.start()
    background = BackgroundTasks(definition)
    background.start()
    dispatch = Dispatcher(definition, ctx)
    for name in definition.handlers:
        project = topology.subscription_project(name, ctx.settings)
        subscriptions[name] = _Reopening(
            lambda project=project, name=name: ctx.transport.subscribe(project, name, dispatch),
            name)
    log.info("worker started", extra={"service": definition.name,
                                      "subscriptions": sorted(subscriptions)})
    exit_code = 0
    while not stop.wait(1.0):
        if not http.is_alive():
            exit_code = 1
            break
        for subscription in subscriptions.values():
            subscription.check(time.monotonic())
    log.info("worker stopping", extra={"service": definition.name})
    if definition.drain is not None:
        definition.drain()
    for subscription in subscriptions.values():
        subscription.stop()  # waits for in-flight handlers: their acks still go out
    background.stop()
    server.should_exit = True
    http.join(timeout=10)
    ctx.telemetry.shutdown()
    return exit_code


__all__ = [
    "BackgroundTasks",
    "Dispatcher",
    "ServiceContext",
    "ServiceDefinition",
    "build_app",
    "build_context",
    "load_definition",
    "run_worker",
    "serve",
]
