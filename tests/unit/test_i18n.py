"""Every string a person reads has a Spanish translation, and the catalogues agree."""

from tracker import i18n


def test_every_message_has_a_spanish_translation():
    missing = i18n.missing_translations()
    assert not missing, "untranslated: " + "; ".join(
        f"{m!r} ({p[0]})" for m, p in sorted(missing.items())[:40]
    )


def test_catalogues_merge_without_conflicts():
    assert len(i18n.merged_catalogue()) > 0
