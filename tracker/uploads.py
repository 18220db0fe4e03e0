"""Request bodies at the door: too large, compressed, or cut short.

What each upload must contain is checked where it is read (a certificate's PDF in
services/certificates.py, CSV files in documents/csvsafe.py, GeoJSON in services/geo.py);
this module answers what no view can, before a view runs:

- a body larger than MAX_CONTENT_LENGTH gets a 413 in the reader's language that names
  the upload field and the limit, without reading the body;
- a body sent with a Content-Encoding (gzip, deflate, br...) is refused with a 415: the
  tracker never inflates what it is sent, so a few kilobytes cannot become gigabytes;
- a JSON body nested past Python's recursion limit, or with an integer longer than Python
  converts (4,300 digits), gets a 400 instead of a server error;
- text no database column can hold (NUL, lone surrogates) in a query parameter, form
  field or JSON string gets a 422 naming the field (PostgreSQL would refuse it);
- a multipart upload cut off half-way (a chunked body over the limit) leaves no open
  temporary file behind.
"""

from __future__ import annotations

import json
import re
import sys
from typing import IO

from flask import Flask, Request, Response, current_app, request
from flask_babel import gettext as _

# The upload field of each view that takes a file, to name it when the body is refused.
UPLOAD_FIELDS = {
    "certificates.document": "document",
    "api_certificates.CertificateDocument": "document",
    "coverage.import_csv": "file",
    "api_certificates.Coverage": "file",
    "imports.families_upload": "file",
    "imports.plots_upload": "file",
    "imports.deliveries_upload": "file",
    "api_families.FamilyImport": "file",
    "api_plots.PlotImport": "file",
    "api_deliveries.DeliveryImport": "file",
    "plots.create": "geometry_file",
    "plots.update": "geometry_file",
    "plots.load_protected_area": "boundary_file",
    "api_plots.ProtectedArea": "geometry",
}


class UploadRequest(Request):
    """A request that closes every temporary file its form parser opened, also when the
    parse stopped half-way (werkzeug only closes the files of a finished parse)."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        stream = super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )
        self.__dict__.setdefault("_upload_streams", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_upload_streams", []):
            stream.close()


def _own_limits() -> dict[str, int]:
    """Uploads with a tighter byte limit than MAX_CONTENT_LENGTH, by endpoint."""
    from .services.geo import AREA_MAX_BYTES

    return {"plots.load_protected_area": AREA_MAX_BYTES, "api_plots.ProtectedArea": AREA_MAX_BYTES}


def _field() -> str:
    return UPLOAD_FIELDS.get(request.endpoint or "", "_schema")


def _refuse() -> Response | None:
    from .errors import error_response

    if request.method not in ("POST", "PUT", "PATCH"):
        return _refuse_unstorable_text()
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        message = _("Compressed uploads are not accepted: send the file as it is.")
        return error_response(415, message, {_field(): [message]})
    limit = _own_limits().get(request.endpoint or "") or current_app.config.get(
        "MAX_CONTENT_LENGTH"
    )
    if limit and request.content_length and request.content_length > limit:
        megabytes = f"{limit / 1024 / 1024:g}"
        message = _("The file is larger than %(mb)s MB.", mb=megabytes)
        return error_response(413, message, {_field(): [message]})
    if request.is_json and _too_deep():
        message = _("The JSON is nested too deeply.")
        return error_response(400, message, {_field(): [message]})
    if request.is_json and _number_too_long(request.get_data(cache=True)):
        message = _("A number in the JSON has too many digits.")
        return error_response(400, message, {_field(): [message]})
    return _refuse_unstorable_text()


def _unstorable_text(value: object) -> bool:
    """Text no database column can hold: NUL characters (PostgreSQL refuses them) or
    lone surrogates from JSON escapes (not encodable as UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _first_unstorable(value: object, path: str) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if _unstorable_text(key):
                return path or "_schema"
            found = _first_unstorable(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    elif _unstorable_text(value):
        return path or "_schema"
    return None


def _refuse_unstorable_text() -> Response | None:
    """Refuse, naming the field, any parameter, form field or JSON string carrying NUL or
    unencodable characters, before a view can try to store it."""
    sources: list[tuple[str, object]] = [(k, v) for k, v in request.args.items(multi=True)]
    if request.method in {"POST", "PUT", "PATCH"}:
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            sources += list(request.form.items(multi=True))
            sources += [(k, f.filename or "") for k, f in request.files.items(multi=True)]
        elif request.is_json:
            body = request.get_json(silent=True)
            if body is not None:
                sources.append(("", body))
    from .errors import error_response

    for name, value in sources:
        if _unstorable_text(name):
            field: str | None = "_schema"
        else:
            field = _first_unstorable(value, name)
        if field:
            message = _("Text may not contain NUL or invalid characters.")
            return error_response(422, message, {field: [message]})
    return None


def _too_deep() -> bool:
    """JSON nested past Python's recursion limit ([[[[...): every JSON parser on the way
    (Flask's, webargs', ours) would raise RecursionError, a server error. Only a body
    with many brackets is parsed here to find out, by Flask, which keeps what it parsed
    for the checks and the view after this one (a big GeoJSON boundary is parsed once)."""
    body = request.get_data(cache=True)
    if body.count(b"[") + body.count(b"{") < 256:
        return False
    try:
        request.get_json(silent=True)
    except RecursionError:
        return True
    return False


# A run of digits longer than Python turns into an int; the lookbehind starts a match
# only where a run starts, so the search is linear even in a body of digits.
_MAX_DIGITS = sys.get_int_max_str_digits()  # 0 when the interpreter has no limit
_LONG_DIGITS = re.compile(rb"(?<![0-9])[0-9]{%d}" % (_MAX_DIGITS + 1)) if _MAX_DIGITS else None


def _number_too_long(body: bytes) -> bool:
    """A JSON integer of more digits than Python converts (sys.get_int_max_str_digits):
    every JSON parser on the way would raise ValueError, a server error. Only a body with
    such a run of digits (in a number or a string) is parsed here to find out."""
    if _LONG_DIGITS is None or not _LONG_DIGITS.search(body):
        return False
    try:
        json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return False  # not JSON: the view's parser says so
    except ValueError:
        return True
    return False


def init_app(app: Flask) -> None:
    """Install before any other before-request function reads the body (CSRF does)."""
    app.request_class = UploadRequest
    app.before_request(_refuse)


__all__ = ["UPLOAD_FIELDS", "UploadRequest", "init_app"]
