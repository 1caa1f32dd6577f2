"""Pub/Sub push endpoints: `POST /push/{subscription}`, envelope in, 2xx = ack, 5xx = nack."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Mapping

import fastapi
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.common import errors, push_auth
from services.common.config import Settings
from services.common.transport import Message, Outcome

log = logging.getLogger("prio_stream.push")

# Attributes (at most 100 of 256 + 1,024 bytes), ids and the envelope's own JSON.
ENVELOPE_SLACK = 256 * 1024
# The body of a push of Pub/Sub's largest message (10 MB of data, base64 in the envelope):
# the cap of a subscription without its own.
PUBSUB_MAX_MESSAGE_BYTES = 10_000_000


def envelope_limit(max_data_bytes: int) -> int:
    """The largest push body whose message data holds at most max_data_bytes."""
    return 4 * -(-max_data_bytes // 3) + ENVELOPE_SLACK


@dataclasses.dataclass(frozen=True)
class Oversized:
    """A push body over its subscription's cap: read through, never held, known by digest."""

    subscription: str
    digest: str  # SHA-256 of the whole body, hex
    size: int


@dataclasses.dataclass(frozen=True)
class BodyLimit:
    """A subscription's own cap on push bodies, and what an oversized body becomes: ingest
    counts an oversized ping (acked), instead of a 413 that Pub/Sub would redeliver until the
    message went to its dead-letter topic."""

    max_bytes: int
    oversized: Callable[[Oversized], Outcome]


DEFAULT_LIMIT = envelope_limit(PUBSUB_MAX_MESSAGE_BYTES)


class MalformedEnvelope(ValueError):
    """The body is not a Pub/Sub push envelope."""


def decode_envelope(body: bytes, subscription: str) -> Message:
    """The Message in a push envelope {message: {data, attributes, messageId}, subscription}."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedEnvelope("body is not JSON") from None
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict):
        raise MalformedEnvelope("no message object")
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedEnvelope("no messageId")
    encoded = message.get("data", "")
    try:
        data = base64.b64decode(encoded, validate=True) if encoded else b""
    except (binascii.Error, TypeError, ValueError):
        raise MalformedEnvelope("data is not base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise MalformedEnvelope("attributes are not a string map")
    source = envelope.get("subscription")
    if source is not None and (
        not isinstance(source, str) or source.rsplit("/", 1)[-1] != subscription
    ):
        raise MalformedEnvelope("envelope is for another subscription")
    attempt = envelope.get("deliveryAttempt")  # absent from the emulator's envelopes
    if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int)):
        raise MalformedEnvelope("deliveryAttempt is not an integer")
    return Message(data, attributes, message_id, subscription, attempt)


def _authenticate(request: Request, settings: Settings) -> Response | None:
    try:
        push_auth.authenticate_push(
            request.headers.get("authorization"), settings,
            checked_upstream=push_auth.checked_by_cloud_run(request.headers, settings))
    except push_auth.PushAuthError as error:
        status = getattr(error, "status_code", 401)
        log.warning("push rejected", extra={"status": status, "reason": str(error)})
        return JSONResponse({"error": "unauthorized"}, status_code=status)
    return None


async def read_bounded(request: Request, limit: int) -> bytes | Oversized:
    """The body, if it holds at most limit bytes; else what it was (read through in chunks,
    so that memory stays bounded whatever the caller sends)."""
    kept, size, digest = bytearray(), 0, None
    async for chunk in request.stream():
        size += len(chunk)
        if digest is None and size > limit:
            digest = hashlib.sha256(kept)
            kept = bytearray()
        if digest is None:
            kept += chunk
        else:
            digest.update(chunk)
    if digest is None:
        return bytes(kept)
    return Oversized(request.path_params.get("subscription", ""), digest.hexdigest(), size)


def router(
    dispatch: Callable[[Message], Outcome], subscriptions: set[str], settings: Settings,
    limits: Mapping[str, BodyLimit] | None = None,
) -> fastapi.APIRouter:
    """The push endpoint of each subscription the service handles; bodies are capped per
    subscription (limits; DEFAULT_LIMIT otherwise)."""
    api = fastapi.APIRouter(tags=["push"])
    limits = limits or {}

    @api.post(
        "/push/{subscription}",
        status_code=204,
        responses={400: {"description": "not a push envelope"}, 404: {},
                   413: {"description": "body over the subscription's cap"}, 500: {}, 503: {}},
    )
    async def push(subscription: str, request: Request) -> Response:
        """Delivers one pushed message to the handler: 204 acks, 5xx nacks."""
        # In a worker thread: checking the token may fetch Google's keys (bounded, but slow
        # behind a dead proxy), which must never hold the event loop and its health checks.
        denied = await run_in_threadpool(_authenticate, request, settings)
        if denied is not None:
            return denied
        if subscription not in subscriptions:
            return JSONResponse({"error": "unknown subscription"}, status_code=404)
        limit = limits.get(subscription)
        body = await read_bounded(request, DEFAULT_LIMIT if limit is None else limit.max_bytes)
        if isinstance(body, Oversized):
            log.warning("push body over the cap", extra={"subscription": subscription,
                                                        "bytes": body.size})
            if limit is None:
                return JSONResponse({"error": "body too large"}, status_code=413)
            handle = functools.partial(limit.oversized, body)
        else:
            try:
                handle = functools.partial(dispatch, decode_envelope(body, subscription))
            except MalformedEnvelope as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        try:
            outcome = await run_in_threadpool(handle)
            if outcome is not None:  # a deferred ack: the response waits, no thread does
                await asyncio.wrap_future(outcome)
        except errors.TRANSIENT_ERRORS as error:
            return JSONResponse({"error": type(error).__name__}, status_code=503)
        except Exception as error:  # noqa: BLE001 - logged by the dispatcher; 5xx = nack
            return JSONResponse({"error": type(error).__name__}, status_code=500)
        return Response(status_code=204)

    return api
