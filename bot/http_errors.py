"""Answers to invalid requests that can always be sent.

FastAPI's 422 echoes the invalid input. A JSON string with a lone UTF-16 surrogate (``"\\ud83d"``,
which broken clients and fuzzers send, and which pydantic refuses as a string) cannot be encoded
as UTF-8, so the 422 itself failed and the client got a 500. Here the echo is made encodable.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    return value


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": _encodable(jsonable_encoder(exc.errors()))})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
