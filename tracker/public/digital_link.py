"""GS1 Digital Link resolution (GS1-Conformant Resolver 1.2): the links of a published
lot, as an RFC 9264 linkset or as the one link a `linkType` asks for.

Link types are the GS1 Web Vocabulary's (`https://gs1.org/voc/pip` etc.); a request may
name one as a CURIE (`gs1:pip`) or a URI in any of the vocabulary's namespaces. The lot's
page is served at its Digital Link itself (the default link and `gs1:pip`); its sheet,
its EPCIS events and its certificates have URLs that never carry the lot's token.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import gettext as _
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ..i18n import LOCALES
from ..services.links import certificate_page
from ..services.provenance import Provenance

VOC = "https://gs1.org/voc/"
# The vocabulary's namespaces, old and new, all meaning the same link types.
NAMESPACES = tuple(
    f"{scheme}://{host}/voc/"
    for scheme in ("https", "http")
    for host in ("gs1.org", "www.gs1.org", "ref.gs1.org")
)
DEFAULT = f"{VOC}defaultLink"
PIP = f"{VOC}pip"
CERTIFICATION = f"{VOC}certificationInfo"
TRACEABILITY = f"{VOC}traceability"
SUSTAINABILITY = f"{VOC}sustainabilityInfo"
LINKSET = "application/linkset+json"
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
ALL = "all"
EPCIS_MEDIA_TYPE = "application/ld+json"


@dataclass(frozen=True)
class Link:
    """One typed link from the lot (RFC 8288 target attributes: title, type, hreflang)."""

    rel: str
    href: str
    title: str
    media_type: str
    hreflang: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {"href": self.href, "title": self.title, "type": self.media_type}
        if self.hreflang:
            found["hreflang"] = list(self.hreflang)
        return found


def requested(value: str | None) -> str | None:
    """What a `linkType` asks for: ALL for the linkset, a full link type URI, "" for one
    this resolver does not know (the default link answers), None when absent."""
    if value is None:
        return None
    value = value.strip()
    if value in (ALL, "linkset"):
        return ALL
    if value.startswith("gs1:"):
        return VOC + value[4:]
    for namespace in NAMESPACES:
        if value.startswith(namespace):
            return VOC + value[len(namespace) :]
    return ""


def links(facts: Provenance, *, anchor: str, sheet: str, events: str, base: str) -> list[Link]:
    """Every link of a published lot, titled in the current language."""
    languages = tuple(LOCALES)
    page = Link(
        PIP,
        anchor,
        _("Lot %(code)s: origin, claims and journey", code=facts.code),
        "text/html",
        languages,
    )
    sheet_link = Link(
        PIP,
        sheet,
        _("Provenance sheet of lot %(code)s (PDF)", code=facts.code),
        "application/pdf",
        languages,
    )
    found = [
        Link(DEFAULT, page.href, page.title, page.media_type, languages),
        page,
        sheet_link,
        Link(SUSTAINABILITY, sheet, sheet_link.title, sheet_link.media_type, languages),
    ]
    seen: set[object] = set()
    for claim in facts.claims:
        for cert in claim.certificates:
            if cert.id in seen:
                continue
            seen.add(cert.id)
            found.append(
                Link(
                    CERTIFICATION,
                    certificate_page(base, cert.id),
                    _(
                        "Certificate %(number)s, %(standard)s (%(body)s)",
                        number=cert.number,
                        standard=cert.standard,
                        body=cert.body,
                    ),
                    "text/html",
                    languages,
                )
            )
    found.append(
        Link(
            TRACEABILITY,
            events,
            _("Events of lot %(code)s (EPCIS 2.0, JSON-LD)", code=facts.code),
            EPCIS_MEDIA_TYPE,
        )
    )
    return found


def linkset(anchor: str, description: str, found: list[Link]) -> dict[str, object]:
    """The RFC 9264 JSON linkset, one context object for the lot's Digital Link."""
    context: dict[str, object] = {"anchor": anchor, "description": description}
    for link in found:
        targets = context.setdefault(link.rel, [])
        assert isinstance(targets, list)
        targets.append(link.as_json())
    return {"linkset": [context]}


def choose(found: list[Link], rel: str, accept: str, language: str) -> Link:
    """The link of type `rel` that suits the request best (media type from Accept, then
    language); the default link when the lot has none of that type."""
    candidates = [link for link in found if link.rel == rel] or [
        link for link in found if link.rel == DEFAULT
    ]
    if len(candidates) > 1 and accept:
        wanted = parse_accept_header(accept[:500], MIMEAccept)
        best = wanted.best_match([link.media_type for link in candidates])
        if best:
            candidates = [link for link in candidates if link.media_type == best]
    spoken = [link for link in candidates if not link.hreflang or language in link.hreflang]
    return (spoken or candidates)[0]


def target(link: Link, query: list[tuple[str, str]]) -> str:
    """Where to redirect: the link, with the request's other query parameters passed on."""
    passed = [(key, value) for key, value in query if key != "linkType"]
    if not passed:
        return link.href
    joiner = "&" if "?" in link.href else "?"
    return f"{link.href}{joiner}{urlencode(passed)}"


def linkset_header(anchor: str) -> str:
    """The HTTP Link header pointing at the lot's linkset (sent even when redirecting)."""
    return f'<{anchor}?linkType={ALL}>; rel="linkset"; type="{LINKSET}"'


def description_file(base: str) -> dict[str, object]:
    """What /.well-known/gs1resolver says about this resolver (GS1-Conformant Resolver)."""
    return {
        "name": "Tracker",
        "resolverRoot": base.rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": False,
        "supportsLanguageVariants": True,
    }


__all__ = [
    "ALL",
    "CERTIFICATION",
    "DEFAULT",
    "LINKSET",
    "PIP",
    "SUSTAINABILITY",
    "TRACEABILITY",
    "Link",
    "choose",
    "description_file",
    "links",
    "linkset",
    "linkset_header",
    "requested",
    "target",
]
