"""A minimal service on the runtime contract, for the platform's tests (`echo_service:build`)."""

from __future__ import annotations

import os
import threading

import fastapi

from services.common.runtime import ServiceContext, ServiceDefinition
from services.common.transport import Message

SUBSCRIPTION = "prio-partitions-verifier"


def build(ctx: ServiceContext) -> ServiceDefinition:
    bucket = ctx.settings.private_bucket

    def handle(message: Message) -> None:
        if message.attributes.get("fail"):
            raise RuntimeError("told to fail")
        ctx.storage.create(bucket, f"echo/{message.message_id}", message.data)
        ctx.storage.create(bucket, f"echo-attempt/{message.message_id}",
                           str(message.delivery_attempt).encode())

    def background(stop: threading.Event) -> None:
        ctx.storage.create(bucket, f"background/started-{os.getpid()}", b"")
        stop.wait()
        ctx.storage.create(bucket, f"background/stopped-{os.getpid()}", b"")

    router = fastapi.APIRouter()

    @router.get("/echo/count")
    def count() -> dict:
        return {"count": len(ctx.storage.list(bucket, "echo/"))}

    return ServiceDefinition(
        name="echo",
        handlers={os.environ.get("ECHO_SUBSCRIPTION", SUBSCRIPTION): handle},
        router=router,
        background=[background],
    )
