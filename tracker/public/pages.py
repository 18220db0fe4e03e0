"""The buyer's pages, no login: the lot page behind the QR code, its JSON, sheet and EPCIS
events, the GS1 Digital Link resolver and the public certificate pages.

A hit costs one small query: the token (exact match, unique index) gives the lot id and
its cooperative's public version, which with today's date and the language is the key
of an in-process cache of rendered pages and of the ETag (a 304 when it matches).
Anything unknown answers the same plain 404, whatever was wrong with it, and misses
count against a stricter per-client limit than hits.

The resolver `/01/{gtin}/10/{lot}` opens only a published lot of the GTIN's owner
(services/publication.py); reached that way, the page, its sheet and its events live
under the Digital Link and never show the lot's token (public/digital_link.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .. import config, formatting
from ..db import engine_for, get_session
from ..documents import epcis, present, sheets
from ..i18n import LOCALES
from ..models import Certificate, Cooperative, Lot
from ..schemas.public import ProvenanceSchema
from ..services import (
    certificate_documents,
    epcis_facts,
    gs1,
    printing,
    provenance,
    publication,
    vocabulary,
)
from ..services.errors import NotFound
from . import budget, digital_link
from .cache import PageCache
from .negotiation import public_locale, wants_json

bp = Blueprint("public", __name__)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_AGE = 300  # seconds a browser may reuse a page before asking again (with its ETag)
# Changes whenever the public templates or this code change, so deploys refresh ETags.
_ROOT = Path(__file__).resolve().parent
_BUILD = hashlib.sha256(
    b"".join(
        p.read_bytes()
        for p in sorted(
            [
                *_ROOT.glob("*.py"),
                *(_ROOT.parent.parent / "templates" / "public").glob("*.html"),
                *(_ROOT.parent.parent / "templates" / "pdf").glob("*.html"),
                _ROOT.parent / "static" / "css" / "public.css",
            ]
        )
        if p.is_file()
    )
).hexdigest()[:12]


def _pages() -> PageCache:
    """This app's cache of rendered public pages: (ETag, body) by key."""
    cache = current_app.extensions.get("tracker.public_pages")
    if cache is None:
        cache = current_app.extensions["tracker.public_pages"] = PageCache(maxsize=1024)
    return cache


# Every public page spends the client's PUBLIC_RATE_LIMIT; guessing lot codes or tokens:
# every 404 of any public page counts against one budget per client, stricter than the
# one for pages found (public/budget.py counts both with the app's limiter).
budget.install(bp)


# -- cache headers (language and format: public/negotiation.py) -----------------------


def _etag(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, (_BUILD, *parts))).encode()).hexdigest()[:32]


def _cached(response: Response, etag: str, *, vary: str = "Accept, Accept-Language") -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Vary"] = vary
    return response


def _not_modified(etag: str) -> bool:
    return "If-None-Match" in request.headers and etag in request.if_none_match


def not_found() -> Response:
    """The one 404 of the public pages: says nothing of what exists."""
    if wants_json():
        with force_locale(public_locale()):
            said = str(_("Not found."))
        body = json.dumps({"code": 404, "status": "Not Found", "message": said})
        response = Response(body, status=404, mimetype="application/json")
    else:
        locale = public_locale()
        html = _pages().get(("404", locale))
        if html is None:
            with force_locale(locale):
                html = render_template("public/not_found.html", locale=locale).encode()
            _pages().put(("404", locale), html)
        response = Response(html, status=404, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def gone(lot: publication.Withdrawn) -> Response:
    """A voided lot's address (a QR code on a sack printed before the void): 410, saying
    the cooperative withdrew it and when, so a buyer does not read a 404 as a fake."""
    locale = public_locale()
    with force_locale(locale):
        day = formatting.day(lot.on)
        said = {"cooperative": lot.cooperative, "code": lot.code, "day": day}
        message = _(
            "%(cooperative)s withdrew lot %(code)s on %(day)s: no claim about it stands.", **said
        )
        if wants_json():
            facts = {"lot": lot.code, "cooperative": lot.cooperative, "withdrawn_on": str(lot.on)}
            body = {"code": 410, "status": "Gone", "message": message, **facts}
            response = Response(
                json.dumps(body, ensure_ascii=False), 410, mimetype="application/json"
            )
        else:
            html = render_template("public/withdrawn.html", locale=locale, gone=lot, day=day)
            response = Response(html, status=410, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _missing(token: str) -> Response:
    """No live lot has this token: a voided one's is gone (410), any other not found."""
    lot = publication.withdrawn(get_session(), token=token) if TOKEN_RE.match(token) else None
    return gone(lot) if lot is not None else not_found()


def bad_request(message: Any) -> Response:
    """A 400 saying `message` (a lazy string) in the page's language, as the page is."""
    locale = public_locale()
    with force_locale(locale):
        said = str(message)
        if wants_json():
            body = json.dumps({"code": 400, "status": "Bad Request", "message": said})
            return Response(body, status=400, mimetype="application/json")
        html = render_template("public/not_found.html", locale=locale, status=400, message=said)
    return Response(html, status=400, mimetype="text/html")


# -- the lot page -----------------------------------------------------------------------


# How a lot page was reached: by its token ("l"), or by its Digital Link (GTIN-14, code).
Reached = str | tuple[str, str]


def _links(via: Reached, facts: provenance.Provenance) -> provenance.PublicLinks:
    if isinstance(via, tuple):
        return provenance.PublicLinks.by_digital_link(_anchor(*via))
    assert facts.links is not None
    return facts.links


def _anchor(gtin: str, code: str) -> str:
    """The lot's Digital Link on the public host: the linkset's anchor and its page."""
    return gs1.digital_link(gtin, code, host=config.public_url())


def _facts(lot_id: uuid.UUID, via: Reached) -> provenance.Provenance:
    session = get_session()
    lot = session.get(Lot, lot_id)
    assert lot is not None
    facts = provenance.facts(session, lot, public_url=config.public_url())
    return dataclasses.replace(facts, links=_links(via, facts))


def _render_page(lot_id: uuid.UUID, locale: str, kind: str, via: Reached) -> bytes:
    facts = _facts(lot_id, via)
    if kind == "json":
        return json.dumps(ProvenanceSchema().dump(facts), ensure_ascii=False).encode()
    assert facts.links is not None
    with force_locale(locale):
        return render_template(
            "public/lot.html",
            facts=facts,
            locale=locale,
            self_path=urlsplit(facts.links.page).path,
            sheet_path=urlsplit(facts.links.sheet).path,
            events_path=urlsplit(facts.links.events).path,
            map_svg=present.plot_map(facts),
            **present.helpers(facts.country),
        ).encode()


def serve_lot(found: tuple[uuid.UUID, uuid.UUID, int] | None, *, via: Reached = "l") -> Response:
    """The lot page (HTML or JSON) for a looked-up lot, from the cache when it can."""
    if found is None:
        return not_found()
    lot_id, _coop_id, version = found
    kind = "json" if wants_json() else "html"
    locale = public_locale() if kind == "html" else "-"
    key = (lot_id, version, vocabulary.local_today(), locale, kind, via)
    entry = _pages().get(key)
    etag = entry[0] if entry is not None else _etag(*key)
    if _not_modified(etag):
        return _cached(Response(status=304), etag)
    if entry is None:
        entry = (etag, _render_page(lot_id, locale, kind, via))
        _pages().put(key, entry)
    body = entry[1]
    mimetype = "application/json" if kind == "json" else "text/html"
    return _cached(Response(body, mimetype=mimetype), etag)


def token_lookup() -> provenance.TokenLookup:
    """This app's compiled token query (see provenance.TokenLookup)."""
    return _per_app("tracker.token_lookup", provenance.TokenLookup)


def _per_app(key: str, compile_query: Any) -> Any:
    """A query compiled once per app (kept in app.extensions under `key`)."""
    found = current_app.extensions.get(key)
    if found is None:
        found = compile_query(engine_for(current_app))
        current_app.extensions[key] = found
    return found


def _lookup(token: str) -> tuple[uuid.UUID, uuid.UUID, int] | None:
    if not TOKEN_RE.match(token):
        return None
    return token_lookup()(token)


@bp.route("/l/<token>")
def lot_page(token: str) -> Response:
    """The lot's provenance page: what the QR code opens."""
    found = _lookup(token)
    return serve_lot(found) if found is not None else _missing(token)


@bp.route("/l/<token>/provenance.pdf")
def provenance_sheet(token: str) -> Response:
    """The lot's provenance sheet (PDF/A), rendered once per state of the lot."""
    found = _lookup(token)
    if found is None:
        return _missing(token)
    return sheet_response(*found, locale=public_locale())


@bp.route("/l/<token>/events.jsonld")
def lot_events(token: str) -> Response:
    """The lot's public EPCIS 2.0 document (its gs1:traceability link)."""
    found = _lookup(token)
    if found is None:
        return _missing(token)
    return events_response(*found)


def events_response(lot_id: uuid.UUID, _coop_id: uuid.UUID, version: int) -> Response:
    """The lot's history as EPCIS 2.0 JSON-LD, for anyone: no family, no receipt, no
    buyer's name, no token (documents/epcis.py, audience "public")."""
    key = ("events", lot_id, version, vocabulary.local_today())
    entry = _pages().get(key)
    etag = entry[0] if entry is not None else _etag(*key)
    if _not_modified(etag):
        return _open(_cached(Response(status=304), etag, vary="Accept"))
    if entry is None:
        session = get_session()
        lot = session.get(Lot, lot_id)
        assert lot is not None
        document = epcis.lot_document(
            epcis_facts.for_lot(session, lot), config.public_url(), audience="public"
        )
        entry = (etag, json.dumps(document, ensure_ascii=False).encode())
        _pages().put(key, entry)
    response = Response(entry[1], mimetype=epcis.MEDIA_TYPE)
    return _open(_cached(response, etag, vary="Accept"))


def _open(response: Response) -> Response:
    """Readable by any site's scripts (CORS): public facts, no credentials."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def sheet_response(
    lot_id: uuid.UUID, _coop_id: uuid.UUID, version: int, *, locale: str
) -> Response:
    """The provenance sheet as a download, with cache headers. Once rendered, a request
    reads the file the disk cache holds: no ORM, no rendering."""
    today = vocabulary.local_today()
    key = ("sheet", lot_id, version, today, locale)
    entry = _pages().get(key)
    etag = entry[0] if entry is not None else _etag(*key)
    if _not_modified(etag):
        return _cached(Response(status=304), etag, vary="Accept-Language")
    document = None
    if entry is not None:
        try:
            document = sheets.sheet_path(lot_id, version, locale, today).read_bytes()
        except FileNotFoundError:
            entry = None
    if entry is None or document is None:
        session = get_session()
        lot = session.get(Lot, lot_id)
        assert lot is not None
        document = sheets.provenance_pdf(
            printing.sheet(session, lot, public_url=config.public_url(), version=version),
            locale=locale,
            today=today,
        )
        entry = (etag, f"provenance-{sheets.safe_name(lot.code)}.pdf")
        _pages().put(key, entry)
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{entry[1]}"'
    return _cached(response, etag, vary="Accept-Language")


@bp.route("/l/<path:anything>")
@bp.route("/01/<path:anything>")
@bp.route("/cert/<path:anything>")
def nothing_here(anything: str) -> Response:
    """Any other path under the public prefixes: the same plain 404."""
    return not_found()


# -- the GS1 Digital Link resolver ------------------------------------------------------


def _published(
    gtin: str, lot_code: str
) -> Response | tuple[tuple[uuid.UUID, uuid.UUID, int], str, str]:
    """The published lot a Digital Link names ((id, cooperative, version), GTIN-14, code),
    or the answer for anything else: 400 for a malformed GTIN, the plain 404 otherwise."""
    if len(gtin) > 14 or not gs1.is_valid_gtin(gtin):
        return bad_request(
            _l("Not a valid GTIN: 8, 12, 13 or 14 digits with a correct check digit.")
        )
    code = lot_code[:-1] if lot_code.endswith("/") else lot_code  # a trailing slash
    # The lot as written, then without a serial after it ("/21/{serial}"): a short serial
    # makes "{lot}/21/{serial}" a valid lot code too.
    codes = [c for c in (code, code.rsplit("/21/", 1)[0] if "/21/" in code else "") if c]
    codes = [c for c in codes if gs1.is_valid_lot(c)]
    gtin14 = gs1.normalize_gtin(gtin)
    for candidate in codes:
        found = published_lookup()(gtin14, candidate)
        if found is not None:
            return found, gtin14, candidate
    for candidate in codes:
        lot = publication.withdrawn(get_session(), gtin=gtin14, code=candidate)
        if lot is not None:
            return gone(lot)
    return not_found()


def published_lookup() -> publication.PublishedLookup:
    """This app's compiled resolver query (see publication.PublishedLookup)."""
    return _per_app("tracker.published_lookup", publication.PublishedLookup)


def _resolver(response: Response, anchor: str) -> Response:
    """Headers of every resolver answer: where the linkset is, CORS, what it varies on."""
    response.headers["Link"] = digital_link.linkset_header(anchor)
    response.headers["Vary"] = "Accept, Accept-Language"
    return _open(response)


def _lot_links(
    found: tuple[uuid.UUID, uuid.UUID, int], gtin: str, code: str, locale: str
) -> tuple[str, str, list[digital_link.Link]]:
    """(anchor, description, links) of a published lot, cached like its page."""
    lot_id, _coop_id, version = found
    key = ("links", lot_id, version, vocabulary.local_today(), locale, gtin, code)
    entry = _pages().get(key)
    if entry is None:
        anchor = _anchor(gtin, code)
        facts = _facts(lot_id, (gtin, code))
        assert facts.links is not None
        base = config.public_url()
        with force_locale(locale):
            title = present.title(facts)
            entry = (
                anchor,
                _("%(title)s, lot %(code)s", title=title, code=code),
                digital_link.links(
                    facts,
                    anchor=anchor,
                    sheet=facts.links.sheet,
                    events=facts.links.events,
                    base=base,
                ),
            )
        _pages().put(key, entry)
    return entry


def _wants_linkset() -> bool:
    """Accept names application/linkset+json itself (not by */*) and prefers it."""
    accept = parse_accept_header(request.headers.get("Accept", "")[:500], MIMEAccept)
    named = max((q for value, q in accept if value == digital_link.LINKSET), default=0)
    return named > 0 and named >= max(accept["text/html"], accept["application/json"])


@bp.route("/01/<gtin>/10/<path:lot_code>")
def resolve(gtin: str, lot_code: str) -> Response:
    """`/01/{GTIN}/10/{lot}`: the published lot's page (its default link and gs1:pip),
    its linkset (`?linkType=all` or `Accept: application/linkset+json`), or a redirect to
    the link a `?linkType=` asks for (an unknown one: the default link)."""
    answer = _published(gtin, lot_code)
    if isinstance(answer, Response):
        return answer
    found, gtin14, code = answer
    anchor = _anchor(gtin14, code)
    wanted = digital_link.requested(request.args.get("linkType"))
    if wanted == digital_link.ALL or (wanted is None and _wants_linkset()):
        return _resolver(_linkset_response(found, gtin14, code), anchor)
    if wanted is not None:
        locale = public_locale()
        found_links = _lot_links(found, gtin14, code, locale)[2]
        link = digital_link.choose(
            found_links,
            wanted or digital_link.DEFAULT,
            request.headers.get("Accept", ""),
            locale,
        )
        response = Response(status=307)
        response.headers["Location"] = digital_link.target(
            link, list(request.args.items(multi=True))
        )
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
        return _resolver(response, anchor)
    return _resolver(serve_lot(found, via=(gtin14, code)), anchor)


def _linkset_response(found: tuple[uuid.UUID, uuid.UUID, int], gtin: str, code: str) -> Response:
    """The lot's RFC 9264 linkset, as application/linkset+json (or plain JSON if asked)."""
    locale = public_locale()
    anchor, description, found_links = _lot_links(found, gtin, code, locale)
    body = json.dumps(digital_link.linkset(anchor, description, found_links), ensure_ascii=False)
    accept = parse_accept_header(request.headers.get("Accept", "")[:500], MIMEAccept)
    plain = accept.best_match([digital_link.LINKSET, "application/json"]) == "application/json"
    response = Response(body, mimetype="application/json" if plain else digital_link.LINKSET)
    response.headers["Content-Language"] = locale
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


@bp.route("/01/<gtin>/10/<path:lot_code>/provenance.pdf")
def resolved_sheet(gtin: str, lot_code: str) -> Response:
    """A published lot's provenance sheet, at an address without its token."""
    answer = _published(gtin, lot_code)
    if isinstance(answer, Response):
        return answer
    return _open(sheet_response(*answer[0], locale=public_locale()))


@bp.route("/01/<gtin>/10/<path:lot_code>/events.jsonld")
def resolved_events(gtin: str, lot_code: str) -> Response:
    """A published lot's public EPCIS document (gs1:traceability), without its token."""
    answer = _published(gtin, lot_code)
    if isinstance(answer, Response):
        return answer
    return events_response(*answer[0])


@bp.route("/.well-known/gs1resolver")
def resolver_description() -> Response:
    """The resolver description file every GS1-Conformant resolver publishes."""
    body = json.dumps(digital_link.description_file(config.public_url()))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return _open(response)


@bp.route(epcis.VOCABULARY_PATH)
def epcis_vocabulary() -> Response:
    """What the `tracker:` terms of the EPCIS exports mean (their namespace resolves here)."""
    document = epcis.vocabulary(config.public_url(), LOCALES)
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return _open(response)


# -- certificates -----------------------------------------------------------------------


def _certificate(certificate_id: str) -> Certificate | None:
    try:
        key = uuid.UUID(certificate_id)
    except ValueError:
        return None
    return get_session().get(Certificate, key)


@bp.route("/cert/<certificate_id>")
def certificate(certificate_id: str) -> Response:
    """A certificate's public page: type, standard, body, number, validity, status today."""
    if len(certificate_id) > 40 or (cert := _certificate(certificate_id)) is None:
        return not_found()
    session = get_session()
    coop = session.get(Cooperative, cert.cooperative_id)
    assert coop is not None
    locale = public_locale()
    today = vocabulary.local_today()
    kind = "json" if wants_json() else "html"  # one validator per representation
    etag = _etag("cert", cert.id, coop.public_version, cert.updated_at, today, locale, kind)
    if _not_modified(etag):
        return _cached(Response(status=304), etag)
    facts = provenance.certificate_facts(session, [cert], today)[cert.id]
    names = provenance.kind_names(session, coop.id)
    if kind == "json":
        from ..schemas.public import CertificatePublicSchema

        body = CertificatePublicSchema().dump(facts) | {
            "holder": coop.name,
            "status_on": today.isoformat(),
        }
        return _cached(
            Response(json.dumps(body, ensure_ascii=False), mimetype="application/json"), etag
        )
    with force_locale(locale):
        html = render_template(
            "public/certificate.html",
            cert=facts,
            holder=coop.name,
            today=today,
            names=names,
            locale=locale,
            **present.helpers(coop.country),
        )
    return _cached(Response(html, mimetype="text/html"), etag)


@bp.route("/cert/<certificate_id>/document.pdf")
def certificate_document(certificate_id: str) -> Response:
    """The certificate's current document (its newest upload), as the PDF it is."""
    if len(certificate_id) > 40 or (cert := _certificate(certificate_id)) is None:
        return not_found()
    current = certificate_documents.current_document(get_session(), cert)
    if current is None or current[1].media_type != certificate_documents.PDF_MEDIA_TYPE:
        return not_found()
    stored = current[1]
    if _not_modified(stored.sha256):
        return _cached(Response(status=304), stored.sha256, vary="Accept")
    try:
        data = certificate_documents.read_document(get_session(), stored)
    except NotFound:
        return not_found()
    response = Response(data, mimetype="application/pdf")
    # An attachment, as the staff's download: the cooperative's PDF as stored (opened by
    # pikepdf, scripts and actions taken out), never rendered in our pages.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{certificate_documents.download_name(cert)}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _cached(response, stored.sha256, vary="Accept")
