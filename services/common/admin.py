"""The admin app base of every service: Dockerflow health and version, dead letters, who may call."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated

import fastapi
import pydantic
from fastapi.responses import JSONResponse

from services.common import deadletters, errors, push_auth, topology
from services.common.push_auth import TokenError
from services.common.transport import Subscription

log = logging.getLogger("prio_stream.admin")

# Methods that change nothing: a reader may call them. Any other method needs an operator.
READ_METHODS = frozenset({"GET", "HEAD"})

# Written by the image build (Dockerflow): {"source", "version", "commit", "build"}.
VERSION_FILES = (Path("version.json"), Path("/app/version.json"))


def package_version() -> str:
    try:
        return importlib.metadata.version("prio-stream")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@functools.cache
def version_info() -> dict:
    for path in VERSION_FILES:
        if path.is_file():
            return json.loads(path.read_text())
    return {"source": "prio-stream", "version": package_version(), "commit": "unknown"}


# The one map from a kind of refusal, whatever domain code raised it, to its HTTP status.
REFUSAL_STATUS: dict[type[errors.Refused], int] = {
    errors.InvalidRequest: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
}


def refusal_response(_request: fastapi.Request, error: Exception) -> JSONResponse:
    """The app's handler of errors.Refused: its status, and its message as FastAPI's own
    errors show theirs ({"detail": ...})."""
    # A bare Refused names no kind: a bug of the code that raised it, so a 500.
    status = next((code for kind, code in REFUSAL_STATUS.items() if isinstance(error, kind)),
                  500)
    return JSONResponse({"detail": str(error)}, status_code=status)


class Empty(pydantic.BaseModel):
    """Nothing: that the process answers is the answer."""


class Version(pydantic.BaseModel):
    """The image's version.json (Dockerflow): these fields, and any other the build wrote."""

    model_config = pydantic.ConfigDict(extra="allow")

    source: str = pydantic.Field(description="Where the code comes from.")
    version: str = pydantic.Field(description="The package's version.")
    commit: str = pydantic.Field(description="The commit the image was built from.")


class Heartbeat(pydantic.BaseModel):
    status: str = pydantic.Field(description="ok, or error when a check fails (HTTP 500).")
    checks: dict[str, str] = pydantic.Field(description="Each check: ok or error: <type>.")


class DeadLetter(pydantic.BaseModel):
    message_id: str = pydantic.Field(description="The message's Pub/Sub id.")
    attributes: dict[str, str] = pydantic.Field(description="Its attributes (batch, "
                                                            "partition, trace context).")
    size: int = pydantic.Field(description="Bytes of its data (not shown here).")


class DeadLetterShown(pydantic.BaseModel):
    message_id: str = pydantic.Field(description="The message's Pub/Sub id.")
    attributes: dict[str, str] = pydantic.Field(description="Its attributes.")
    data: str = pydantic.Field(description="Its data, base64.")


class Redriven(pydantic.BaseModel):
    redriven: int = pydantic.Field(description="Dead letters published to the topic again.")


class Discarded(pydantic.BaseModel):
    discarded: int = pydantic.Field(description="Dead letters dropped for good.")


class Detail(pydantic.BaseModel):
    detail: str = pydantic.Field(description="Why the request was refused.")


# What any admin route may answer instead (authorization, then errors.Refused), in OpenAPI.
REFUSALS = {
    400: {"model": Detail, "description": "Malformed: the detail names the rule broken."},
    401: {"model": Detail, "description": "No valid Google ID token for ADMIN_AUDIENCE."},
    403: {"model": Detail, "description": "Not in OPERATORS (or READERS, for reads)."},
    404: {"model": Detail, "description": "Nothing of what the path names here."},
    409: {"model": Detail, "description": "Not now, or not on this server."},
}


def check_storage(ctx, service: str) -> None:
    # Probe the bucket the service owns: ingest may only create objects in the servers'
    # inboxes (least privilege), so reading one would fail although ingest is healthy.
    bucket = ctx.settings.ingest_bucket if service == "ingest" else ctx.settings.private_bucket
    ctx.storage.exists(bucket, "__heartbeat__")


def check_subscriptions(subscriptions: Mapping[str, Subscription]) -> None:
    broken = [name for name, sub in subscriptions.items() if sub.error() is not None]
    if broken:
        raise RuntimeError(f"streaming pull ended: {', '.join(sorted(broken))}")


def check_background(failed: list[str]) -> None:
    if failed:
        raise RuntimeError(f"background task(s) ended: {', '.join(failed)}")


def dockerflow_router(checks: Mapping[str, Callable[[], None]]) -> fastapi.APIRouter:
    api = fastapi.APIRouter(tags=["dockerflow"])

    # Answered on the event loop, never queued behind threads that wait on token keys.
    @api.get("/__lbheartbeat__")
    async def lbheartbeat() -> Empty:
        """The process answers (load balancer liveness)."""
        return {}

    @api.get("/__heartbeat__", response_model=Heartbeat,
             responses={500: {"model": Heartbeat, "description": "A check failed."}})
    def heartbeat() -> JSONResponse:
        """Every check passes: storage reachable, streaming pulls and background tasks alive."""
        results = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as error:  # noqa: BLE001 - any failure is the check's answer
                log.warning("heartbeat check failed", extra={"check": name,
                                                             "error": type(error).__name__})
                results[name] = f"error: {type(error).__name__}"
        ok = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "error", "checks": results}, status_code=200 if ok else 500
        )

    @api.get("/__version__")
    async def version() -> Version:
        """version.json of the image: source, version, commit."""
        return version_info()

    return api


# A repeatable query parameter (?message_id=a&message_id=b).
MessageIds = Annotated[list[str] | None, fastapi.Query()]


def dead_letters_router(subscriptions: Iterable[str], ctx) -> fastapi.APIRouter:
    """Dead letters of the service's own subscriptions (metadata only, never message data)."""
    api = fastapi.APIRouter(prefix="/dead-letters", tags=["dead letters"])
    specs = {name: topology.BY_NAME[name] for name in subscriptions if name in topology.BY_NAME}
    service = ", ".join(sorted(specs)) or "this service"

    def project_of(spec: topology.SubscriptionSpec) -> str:
        return topology.subscription_project(spec.name, ctx.settings)

    @api.get("")
    def list_dead_letters(limit: Annotated[int, fastapi.Query(ge=1, le=1000)] = 100
                          ) -> dict[str, list[DeadLetter]]:
        """Per subscription: the dead letters waiting in `<topic>-dead-letter-inspect`."""
        admin = deadletters.admin_of(ctx.transport)
        return {
            name: [
                {"message_id": m.message_id, "attributes": dict(m.attributes), "size": len(m.data)}
                for m in deadletters.list_messages(admin, project_of(spec), spec.topic, limit)
            ]
            for name, spec in specs.items()
        }

    def spec_of(subscription: str) -> topology.SubscriptionSpec:
        spec = specs.get(subscription)
        if spec is None:
            raise fastapi.HTTPException(404, f"{subscription} is not one of {service}")
        return spec

    def chosen(message_id: list[str] | None) -> set[str] | None:
        return set(message_id) if message_id else None

    @api.get("/{subscription}/{message_id}")
    def show(subscription: str, message_id: str) -> DeadLetterShown:
        """One dead letter with its data (base64): to decide between re-drive and discard."""
        spec = spec_of(subscription)
        admin = deadletters.admin_of(ctx.transport)
        found = deadletters.find(admin, project_of(spec), spec.topic, message_id)
        if found is None:
            raise fastapi.HTTPException(404, f"no dead letter {message_id}")
        return deadletters.shown(found)

    @api.post("/{subscription}/redrive")
    def redrive(subscription: str, message_id: MessageIds = None) -> Redriven:
        """Publishes the subscription's dead letters (all, or the message_id given) to its
        topic again."""
        spec = spec_of(subscription)
        admin = deadletters.admin_of(ctx.transport)
        count = deadletters.redrive(admin, ctx.transport, project_of(spec), spec.topic,
                                    chosen(message_id))
        log.info("dead letters re-driven", extra={"subscription": subscription, "count": count})
        return {"redriven": count}

    @api.post("/{subscription}/discard")
    def discard(subscription: str, message_id: MessageIds = None, all: bool = False
                ) -> Discarded:
        """Drops dead letters for good: the message_id given, or every one with all=true."""
        spec = spec_of(subscription)
        if not message_id and not all:
            raise fastapi.HTTPException(400, "give message_id or all=true")
        admin = deadletters.admin_of(ctx.transport)
        count = deadletters.discard(admin, project_of(spec), spec.topic, chosen(message_id))
        log.info("dead letters discarded", extra={"subscription": subscription, "count": count})
        return {"discarded": count}

    return api


def authorize(authorization: str | None, settings, *, write: bool,
              checked_upstream: bool = False) -> str | None:
    """The caller's email if it may call an admin route (write: one that changes state), None
    with ADMIN_AUTH=none; else TokenError (401 no valid token, 403 not allowed, 500 ADMIN_AUTH
    misconfigured, 503 Google's keys unreachable). May fetch keys: not on the event loop."""
    if settings.admin_auth == "none":
        return None
    if not settings.admin_audience:
        raise TokenError("ADMIN_AUTH=oidc needs ADMIN_AUDIENCE", 500)
    claims = push_auth.verify_google_id_token(authorization, settings.admin_audience,
                                              checked_upstream=checked_upstream)
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise TokenError("token carries no email", 403)
    email = email.lower()
    if email in settings.operators:
        return email
    if email not in settings.readers:
        raise TokenError(f"{email} is in neither OPERATORS nor READERS", 403)
    if write:
        raise TokenError(f"{email} may only read: changing state needs an email in OPERATORS",
                         403)
    return email


def admin_guard(settings) -> Callable[[fastapi.Request], None]:
    """The dependency every admin router is included with. Sync on purpose: FastAPI runs it in
    the threadpool, so a slow key fetch never holds the event loop."""

    def guard(request: fastapi.Request) -> None:
        write = request.method not in READ_METHODS
        where = {"method": request.method, "path": request.url.path[:200]}
        try:
            email = authorize(
                request.headers.get("authorization"), settings, write=write,
                checked_upstream=push_auth.checked_by_cloud_run(request.headers, settings))
        except TokenError as error:
            log.warning("admin request refused",
                        extra={"status": error.status_code, "reason": str(error), **where})
            headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
            raise fastapi.HTTPException(error.status_code, str(error), headers=headers) from None
        if write:
            log.info("admin action", extra={"operator": email, **where})

    return guard
