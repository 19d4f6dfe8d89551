"""The SMS / messaging webhook: a signed gateway call in, the reply to send back out.

The gateway signs the raw body with HMAC-SHA256 and the shared secret
``HAVEN_SMS_WEBHOOK_SECRET`` and sends ``X-Haven-Signature: sha256=<hex>``. A
message that does not parse still answers 200, with ``ok: false`` and the reply
that tells the sender what to fix; nothing is written then.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Request
from pydantic import ValidationError

from haven import sms
from haven.api.auth import app_settings, database
from haven.db import Database
from haven.errors import InvalidInput, NotAuthenticated, NotFound
from haven.settings import Settings
from haven.sms import SmsIn, SmsReply

__all__ = ["SIGNATURE_HEADER", "build_sms_router", "sign"]

SIGNATURE_HEADER = "X-Haven-Signature"
DB = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(app_settings)]


def sign(secret: str, body: bytes) -> str:
    """The signature header value a gateway sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check(settings: Settings, body: bytes, *, signature: str | None) -> None:
    if settings.sms_webhook_secret is None:
        raise NotFound("SMS intake is not configured on this server")
    expected = sign(settings.sms_webhook_secret.get_secret_value(), body)
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise NotAuthenticated(f"missing or wrong {SIGNATURE_HEADER} (HMAC-SHA256 of the body)")


def _message(body: bytes) -> SmsIn:
    try:
        return SmsIn.model_validate(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not JSON", fields={"body": str(exc)}) from exc
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors(), message="invalid message") from exc


def build_sms_router() -> APIRouter:
    """``POST /api/sms``: one message from the gateway, answered with the reply to send."""
    router = APIRouter(prefix="/api", tags=["sms"])

    @router.post(
        "/sms",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SmsIn.model_json_schema()}},
            }
        },
    )
    async def receive_sms(
        request: Request,
        *,
        db: DB,
        settings: AppSettings,
        signature: Annotated[
            str | None,
            Header(alias=SIGNATURE_HEADER, description="`sha256=<hex HMAC of the body>`"),
        ] = None,
    ) -> SmsReply:
        """Record an SMS written in the `ATK` syntax (docs/web.md) and return the reply.

        Resending the same `message_id` from the same sender records nothing new and
        returns the same confirmation code.
        """
        body = await request.body()
        _check(settings, body, signature=signature)
        message = _message(body)
        return await db.awrite(lambda s: sms.receive(s, message, settings=settings))

    return router
