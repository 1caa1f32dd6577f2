"""OpenTelemetry plumbing: tracer and meter by OTEL_EXPORTER, trace context in message attributes."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    InMemoryMetricReader,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# W3C trace context: the attributes `traceparent` / `tracestate` of every message.
_PROPAGATOR = TraceContextTextMapPropagator()
# Links a span keeps (the SDK's default limit): a partition links to at most this many pings.
MAX_LINKS = 128
# The one histogram of stage latency; its `prio.stage` attribute is the span's name.
STAGE_DURATION = "prio.stage.duration"
SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   120.0, 300.0]


# Identity attributes a message or key carries -> the span attribute that shows each.
_IDENTITY = (("batch_id", "prio.batch_id"), ("submission_date", "prio.date"),
             ("partition_id", "prio.partition_id"))


def attributes(server_id: str | None = None, identity: Mapping[str, str] | None = None,
               **counts: int) -> dict[str, str | int]:
    """Span attributes of the protocol's identities (a server, and the batch id, submission
    date and partition id of identity: a message's attributes or a key's) and report counts
    (`prio.*`). Nothing else goes on a span: never shares, packets, keys or the secret."""
    found: dict[str, str | int] = {}
    if server_id:
        found["prio.server_id"] = str(server_id)
    for name, attribute in _IDENTITY:
        value = (identity or {}).get(name)
        if value:
            found[attribute] = str(value)
    for name, value in counts.items():
        found[f"prio.{name}"] = int(value)
    return found


def current_context() -> trace.SpanContext | None:
    """The current span's context if it is valid (to link to it later)."""
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


def to_traceparent(span_context: trace.SpanContext) -> str:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(
        trace.NonRecordingSpan(span_context)))
    return carrier.get("traceparent", "")


def from_traceparent(value: str) -> trace.SpanContext | None:
    span_context = trace.get_current_span(
        _PROPAGATOR.extract({"traceparent": value})).get_span_context()
    return span_context if span_context.is_valid else None


def inject(attributes: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Attributes plus the current span's trace context (unchanged if no span is recording)."""
    carrier = dict(attributes or {})
    _PROPAGATOR.inject(carrier)
    return carrier


def extract(attributes: Mapping[str, str] | None) -> otel_context.Context:
    """The context a message's attributes carry (an empty one if none)."""
    return _PROPAGATOR.extract(dict(attributes or {}))


@dataclasses.dataclass
class Telemetry:
    """A service's tracer and meter; services use these, never the global providers."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    service_name: str
    spans: InMemorySpanExporter | None = None  # set by in_memory(), for tests
    metric_reader: InMemoryMetricReader | None = None
    # False with OTEL_EXPORTER=none: spans are still made, but nothing extra is stored for them
    exporting: bool = True
    _instruments: dict = dataclasses.field(default_factory=dict, repr=False)
    _instruments_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock,
                                                          repr=False)
    _shut_down: bool = dataclasses.field(default=False, repr=False)

    @functools.cached_property
    def tracer(self) -> trace.Tracer:
        # Once: get_tracer takes the provider's lock, and every message makes spans.
        return self.tracer_provider.get_tracer("prio-stream")

    @property
    def meter(self) -> metrics.Meter:
        return self.meter_provider.get_meter("prio-stream")

    inject = staticmethod(inject)
    extract = staticmethod(extract)

    @contextlib.contextmanager
    def consume(self, name: str, attributes: Mapping[str, str] | None) -> Iterator[trace.Span]:
        """A consumer span, child of the trace the message carries."""
        with self.tracer.start_as_current_span(
            name, context=extract(attributes), kind=trace.SpanKind.CONSUMER
        ) as span:
            yield span

    @contextlib.contextmanager
    def stage(self, name: str, span_attributes: Mapping[str, str | int] | None = None, *,
              links: Iterable[trace.SpanContext] = (), root: bool = False
              ) -> Iterator[trace.Span]:
        """A protocol step (`ingest.flush_partition`, `verifier.verify2`, ...): a span, child
        of the current one (root: a new trace, e.g. a partition or a batch close), and its
        duration in the histogram prio.stage.duration {prio.stage, prio.server_id}."""
        span_attributes = dict(span_attributes or {})
        started = time.monotonic()
        outcome = "ok"
        with self.tracer.start_as_current_span(
            name, context=otel_context.Context() if root else None,
            attributes=span_attributes,
            links=[trace.Link(c) for c in list(links)[:MAX_LINKS]],
        ) as span:
            try:
                yield span
            except BaseException:
                outcome = "error"
                raise
            finally:
                labels = {"prio.stage": name, "prio.outcome": outcome}
                if "prio.server_id" in span_attributes:
                    labels["prio.server_id"] = span_attributes["prio.server_id"]
                self.histogram(STAGE_DURATION, description="time of a protocol step "
                               "(the span of the same name)").record(
                    time.monotonic() - started, labels)

    def _instrument(self, kind: str, name: str, factory: Callable):
        with self._instruments_lock:
            if (kind, name) not in self._instruments:
                self._instruments[(kind, name)] = factory()
            return self._instruments[(kind, name)]

    def counter(self, name: str, unit: str = "1", description: str = ""):
        return self._instrument("counter", name, lambda: self.meter.create_counter(
            name, unit=unit, description=description))

    def histogram(self, name: str, unit: str = "s", description: str = "",
                  boundaries: list[float] | None = None):
        """Seconds by default, with bucket boundaries from 5 ms to 5 min."""
        if boundaries is None and unit == "s":
            boundaries = SECONDS_BUCKETS
        return self._instrument("histogram", name, lambda: self.meter.create_histogram(
            name, unit=unit, description=description,
            explicit_bucket_boundaries_advisory=boundaries))

    def up_down_counter(self, name: str, unit: str = "1", description: str = ""):
        return self._instrument("up_down_counter", name,
                                lambda: self.meter.create_up_down_counter(
                                    name, unit=unit, description=description))

    def gauge(self, name: str, observe: Callable[[], Iterable[tuple[int | float, dict]]],
              unit: str = "1", description: str = ""):
        """An observable gauge: observe() yields (value, attributes) at each collection; it
        must be cheap (it runs on the exporter's thread)."""
        def callback(_options: CallbackOptions) -> list[Observation]:
            return [Observation(value, labels) for value, labels in observe()]

        return self._instrument("gauge", name, lambda: self.meter.create_observable_gauge(
            name, callbacks=[callback], unit=unit, description=description))

    def shutdown(self) -> None:
        """Exports what is still held (batch processors, a last metric collection); once."""
        with self._instruments_lock:
            done, self._shut_down = self._shut_down, True
        if not done:
            self.tracer_provider.shutdown()
            self.meter_provider.shutdown()

    @classmethod
    def from_exporter(cls, exporter: str, service_name: str) -> Telemetry:
        """`otlp` (OTLP/HTTP, OTEL_EXPORTER_OTLP_* variables), `console` or `none`."""
        resource = Resource.create({"service.name": f"prio-stream-{service_name}"})
        tracer_provider = TracerProvider(resource=resource)
        readers: list[MetricReader] = []
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        elif exporter == "console":
            tracer_provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter()))
        elif exporter != "none":
            raise ValueError(f"unknown OTEL_EXPORTER {exporter!r}")
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        return cls(tracer_provider, meter_provider, service_name, exporting=exporter != "none")

    @classmethod
    def in_memory(cls, service_name: str = "test",
                  spans: InMemorySpanExporter | None = None) -> Telemetry:
        """Spans and metrics kept in memory: `telemetry.spans.get_finished_spans()`; several
        services may share one span exporter (one trace across services)."""
        resource = Resource.create({"service.name": f"prio-stream-{service_name}"})
        spans = spans if spans is not None else InMemorySpanExporter()
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        return cls(tracer_provider, meter_provider, service_name, spans, reader)
