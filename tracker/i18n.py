"""Spanish first, English too: locale selection, and building the catalogues.

Message ids are English; Spanish translations live in `tracker/translations/src/*.po`,
one file per area so people can work on areas side by side. `python -m tracker.i18n
compile` merges them into `es/LC_MESSAGES/messages.mo` (the build does this; compiled
catalogues are never committed). `python -m tracker.i18n check` lists every message in
the code and templates that has no Spanish translation.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
CATALOGUES = PACKAGE / "translations"
SOURCES = CATALOGUES / "src"
LOCALES = ("es", "en")

babel = Babel()


def select_locale() -> str:
    """The user's choice, then the browser's Accept-Language, then Spanish.

    Outside a request (the CLI), the shell's LANG decides.
    """
    if not has_request_context():
        return "es" if os.environ.get("LANG", "").startswith("es") else "en"
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    user = g.get("principal_user")
    if user is not None and user.locale in LOCALES:
        return user.locale
    return request.accept_languages.best_match(LOCALES, default="es") or "es"


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(CATALOGUES),
    )


SPANISH_PLURALS = "nplurals=2; plural=(n != 1);"


def merged_catalogue() -> Catalog:
    """All area catalogues as one Spanish catalogue; a msgid translated twice differently fails."""
    merged = Catalog(locale="es", domain="messages")
    # Our msgstrs have two plural forms; newer CLDR data gives Spanish three ("many" for
    # millions), which would leave every plural untranslated. Say which rule we wrote for.
    merged.mime_headers = [("Plural-Forms", SPANISH_PLURALS)]
    seen: dict[object, tuple[str, object]] = {}
    for po in sorted(SOURCES.glob("*.po")):
        with po.open("rb") as handle:
            catalogue = read_po(handle, locale="es")
        for message in catalogue:
            if not message.id:
                continue
            key = message.id if not message.context else (message.context, message.id)
            if key in seen and seen[key][1] != message.string:
                raise SystemExit(
                    f"{po.name}: {message.id!r} is translated differently in {seen[key][0]}"
                )
            seen[key] = (po.name, message.string)
            merged.add(message.id, message.string, context=message.context)
    return merged


def compile_catalogues() -> None:
    for locale in LOCALES:
        target = CATALOGUES / locale / "LC_MESSAGES"
        target.mkdir(parents=True, exist_ok=True)
        catalogue = merged_catalogue() if locale == "es" else Catalog(locale="en")
        with (target / "messages.mo").open("wb") as handle:
            write_mo(handle, catalogue)
    print(f"Compiled catalogues: {', '.join(LOCALES)} ({len(merged_catalogue())} Spanish messages)")


METHOD_MAP = [
    ("tracker/static/**", "ignore"),
    ("tracker/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.svg", "jinja2"),
]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.do"}}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "N_": None,
    "ngettext": (1, 2),
    "_n": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}
# A message said in a context ("feminine", "delivery") is keyed as gettext keys it:
# the context, EOT, the msgid.
CONTEXT_SEPARATOR = "\x04"


def _split(key: str) -> tuple[str | None, str]:
    context, _sep, msgid = key.rpartition(CONTEXT_SEPARATOR)
    return context or None, msgid


def extracted_messages() -> dict[str, list[str]]:
    """Every translatable message in code and templates, with where it is used."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT),
        method_map=[(p, "jinja2.ext:babel_extract" if m == "jinja2" else m) for p, m in METHOD_MAP],
        options_map=OPTIONS_MAP,
        keywords=KEYWORDS,
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            key = f"{context}{CONTEXT_SEPARATOR}{msgid}" if context else msgid
            found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def missing_translations() -> dict[str, list[str]]:
    """Messages used somewhere with no (or an empty) Spanish translation."""
    catalogue = merged_catalogue()
    missing = {}
    for key, places in extracted_messages().items():
        context, msgid = _split(key)
        message = catalogue.get(msgid, context=context)
        if message is None or not message.string:
            missing[key] = places
    return missing


def stub(area: str) -> int:
    """Append every untranslated message to src/AREA.po with an empty msgstr, to fill in."""
    target = SOURCES / f"{area}.po"
    missing = missing_translations()
    lines = []
    for key, places in sorted(missing.items()):
        context, msgid = _split(key)
        lines.append(f"#: {places[0]}")
        if context:
            lines.append(f"msgctxt {_po_quote(context)}")
        lines.append(f"msgid {_po_quote(msgid)}")
        lines.append('msgstr ""')
        lines.append("")
    if lines:
        header = "" if target.exists() and target.read_text().strip() else _PO_HEADER
        with target.open("a", encoding="utf-8") as handle:
            handle.write(header + "\n".join(lines) + "\n")
    return len(missing)


def fill(area: str, translations: Path) -> list[str]:
    """Set msgstr in src/AREA.po from a JSON object {msgid: Spanish}; returns ids still empty."""
    import json

    from babel.messages.pofile import write_po

    mapping = json.loads(translations.read_text(encoding="utf-8"))
    target = SOURCES / f"{area}.po"
    with target.open("rb") as handle:
        catalogue = read_po(handle, locale="es")
    left = []
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in mapping:
            message.string = mapping[key]
        elif not message.string:
            left.append(key)
    with target.open("wb") as handle:
        write_po(handle, catalogue, width=100, sort_output=True, include_previous=False)
    return left


_PO_HEADER = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: es\\n"\n\n'
)


def _po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "compile"
    if command == "compile":
        compile_catalogues()
        return 0
    if command == "check":
        missing = missing_translations()
        for key, places in sorted(missing.items()):
            context, msgid = _split(key)
            print(f"{places[0]}: {msgid!r}" + (f" (context {context!r})" if context else ""))
        print(f"{len(missing)} message(s) without a Spanish translation")
        return 1 if missing else 0
    if command == "stub" and len(argv) > 2:
        added = stub(argv[2])
        print(
            f"{added} untranslated message(s) appended to {SOURCES / (argv[2] + '.po')}: fill in their msgstr"
        )
        return 0
    if command == "fill" and len(argv) > 3:
        left = fill(argv[2], Path(argv[3]))
        print(f"{len(left)} message(s) in {argv[2]}.po still without a translation")
        return 1 if left else 0
    print(
        "usage: python -m tracker.i18n [compile|check|stub AREA|fill AREA FILE.json]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
