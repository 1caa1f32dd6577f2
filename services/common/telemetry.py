"""OpenTelemetry plumbing: tracer and meter by OTEL_EXPORTER, trace context in message attributes."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
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

    @property
    def tracer(self) -> trace.Tracer:
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

    def counter(self, name: str, unit: str = "1", description: str = ""):
        return self.meter.create_counter(name, unit=unit, description=description)

    def histogram(self, name: str, unit: str = "s", description: str = ""):
        return self.meter.create_histogram(name, unit=unit, description=description)

    def up_down_counter(self, name: str, unit: str = "1", description: str = ""):
        return self.meter.create_up_down_counter(name, unit=unit, description=description)

    def shutdown(self) -> None:
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
        return cls(tracer_provider, meter_provider, service_name)

    @classmethod
    def in_memory(cls, service_name: str = "test") -> Telemetry:
        """Spans and metrics kept in memory: `telemetry.spans.get_finished_spans()`."""
        resource = Resource.create({"service.name": f"prio-stream-{service_name}"})
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        return cls(tracer_provider, meter_provider, service_name, spans, reader)
