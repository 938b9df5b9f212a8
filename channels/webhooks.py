"""What every provider webhook needs: a bounded body and the public URL the provider called."""

from __future__ import annotations

from fastapi import HTTPException, Request

# Provider webhooks are small (a Twilio SMS of 1600 characters is about 3 kB of form data);
# anything bigger is refused before it is read into memory.
MAX_WEBHOOK_BYTES = 16 * 1024


async def read_body(request: Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
    return bytes(body)


def public_url(request: Request, public_base_url: str) -> str:
    """The URL as the provider called it: behind a proxy the app sees another host and scheme."""
    if not public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_base_url.rstrip('/')}{request.url.path}{query}"
