"""The vocabulary: one source of claim names, which pages reach as a Jinja global."""

from __future__ import annotations

from flask import g, render_template_string

from tracker.services import certificates, vocabulary


def test_pages_name_an_added_certificate_type_as_the_cooperative_named_it(app, db, world):
    certificates.add_kind(
        db, world.a, code="rainforest_alliance", name_es="Alianza Bosque", name_en="Rainforest"
    )
    db.commit()
    with app.test_request_context("/"):
        names = vocabulary.claim_names(db, world.a.id)
    db.commit()  # end the read, so the page's own session may begin
    with app.test_request_context("/"):
        g.coop = world.a
        shown = render_template_string(
            "{{ claim_name('rainforest_alliance') }}|{{ claim_name('organic') }}|"
            "{{ claim_name('unknown_kind') }}"
        )
    assert names["rainforest_alliance"] in ("Alianza Bosque", "Rainforest")
    assert shown == f"{names['rainforest_alliance']}|{names['organic']}|unknown_kind"


def test_without_a_cooperative_only_the_built_in_names_are_known(app):
    with app.test_request_context("/"):
        assert render_template_string("{{ claim_name('kosher') }}") == str(
            vocabulary.CLAIM_LABELS["kosher"]
        )
