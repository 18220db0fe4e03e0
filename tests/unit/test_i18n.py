"""Every string a person reads has a Spanish translation, and the catalogues agree."""

from tracker import i18n


def test_every_message_has_a_spanish_translation():
    missing = i18n.missing_translations()
    assert not missing, "untranslated: " + "; ".join(
        f"{m!r} ({p[0]})" for m, p in sorted(missing.items())[:40]
    )


def test_catalogues_merge_without_conflicts():
    assert len(i18n.merged_catalogue()) > 0


def test_plurals_are_translated_with_the_rule_the_translations_were_written_for(tmp_path):
    import gettext

    from babel.messages.mofile import write_mo

    catalogue = i18n.merged_catalogue()
    path = tmp_path / "messages.mo"
    with path.open("wb") as handle:
        write_mo(handle, catalogue)
    with path.open("rb") as handle:
        spanish = gettext.GNUTranslations(handle)
    one, many = "%(num)s delivery", "%(num)s deliveries"
    assert spanish.ngettext(one, many, 1) == "%(num)s entrega"
    assert spanish.ngettext(one, many, 2) == "%(num)s entregas"
    assert spanish.ngettext(one, many, 1_000_000) == "%(num)s entregas"
    plurals = [m for m in catalogue if isinstance(m.id, tuple)]
    assert plurals and all(len(m.string) == 2 and all(m.string) for m in plurals)


def test_messages_said_in_a_context_are_checked_in_that_context():
    """The extractor knew no `pgettext`: a message like pgettext("feminine", "All") was
    never checked for its Spanish translation."""
    extracted = i18n.extracted_messages()
    key = "feminine" + i18n.CONTEXT_SEPARATOR + "All"
    assert key in extracted and "templates/" in extracted[key][0]
    catalogue = i18n.merged_catalogue()
    assert catalogue.get("All", context="feminine").string == "Todas"
    assert catalogue.get("All", context="unheard-of") is None
