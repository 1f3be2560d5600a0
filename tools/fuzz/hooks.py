"""Schemathesis checks of this project (loaded through SCHEMATHESIS_HOOKS): every 4xx answer is an RFC 9457
problem+json document with type, title, status and detail, its status equal to the HTTP status."""
import json

import schemathesis


def _header(response, name):
    value = response.headers.get(name) or response.headers.get(name.title()) or ""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return value


@schemathesis.check
def problem_json_on_4xx(ctx, response, case):
    if not 400 <= response.status_code < 500:
        return None
    content_type = _header(response, "content-type")
    if not content_type.startswith("application/problem+json"):
        raise AssertionError(f"{response.status_code} answered with content-type {content_type!r}, not problem+json")
    try:
        body = json.loads(response.content)
    except ValueError as err:
        raise AssertionError(f"{response.status_code} problem+json body is not JSON: {err}") from err
    missing = [k for k in ("type", "title", "status", "detail") if k not in body]
    if missing:
        raise AssertionError(f"{response.status_code} problem without {missing}")
    if body["status"] != response.status_code:
        raise AssertionError(f"problem status {body['status']} differs from HTTP {response.status_code}")
    return None
