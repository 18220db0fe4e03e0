"""Nothing private on anything public: a lot of families with every private field filled,
rendered as the page (both languages), the JSON, the provenance sheet and the labels."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from tests import factories as f
from tracker.services import lots, publication
from tracker.services.money import amount_for

pytestmark = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: run make sysdeps"
)


@pytest.fixture
def private_world(db, world):
    """The lot shown (one part of a split), and everything it must not show."""
    built = f.make_public_lot(db, world.a, families=4)
    secrets: list[str] = []
    for n, (family, delivery, plot) in enumerate(
        zip(built.families, built.deliveries, built.plots, strict=True)
    ):
        family.national_id = f"4821397{n}"
        family.phone = f"+51 987 654 32{n}"
        family.member_code = f"SOCIO-SECRETO-{n}"
        plot.name = f"Chacra escondida {n}"
        delivery.premium_per_kg_minor = 40 + 5 * n
        delivery.premium_minor = amount_for(delivery.net_g, delivery.premium_per_kg_minor)
        db.add_all([family, delivery, plot])
        price = delivery.price_per_kg_minor
        secrets += [
            family.national_id,
            family.phone,
            family.phone.replace(" ", ""),
            family.member_code,
            plot.name,
            delivery.receipt_number,
            str(family.id),
            str(delivery.id),
            str(plot.id),
            # what this one family was paid: per kg (both decimal marks) and in all
            f"{price / 100:.2f}",
            f"{price / 100:.2f}".replace(".", ","),
            f"{delivery.amount_minor / 100:.2f}",
            f"{delivery.amount_minor / 100:,.2f}",
        ]
        if not family.public_name_consent:
            secrets += [family.head_name, family.head_name.split()[-1]]
    # The lot is split: the buyer scans one part; the other part is another lot.
    mine, sibling = lots.split_lot(
        db, lot=built.lot, parts_g=[200_000, 168_000], occurred_on=date(2026, 7, 2)
    )
    # Another lot of the same cooperative, shipped, and a lot of another cooperative.
    neighbour = f.make_family(db, world.a, head_name="Vecina Otrolote", national_id="49990001")
    neighbour_plot = f.make_plot(db, neighbour, lon=-76.1, lat=-7.2)
    other = f.make_lot(
        db, world.a, [f.make_delivery(db, world.a, neighbour, neighbour_plot, kg=77, price=1234)]
    )
    f.make_shipment(db, world.a, [other], buyer_name="Comprador Reservado GmbH", contract="K-777")
    b_lot = f.make_lot(db, world.b, crop="cacao", kg=55)
    publication.publish(db, lot=mine, via=publication.Via.LABELS)
    db.commit()
    secrets += [
        sibling.code,
        sibling.public_token,
        other.code,
        other.public_token,
        "Vecina Otrolote",
        "49990001",
        "12.34",
        "Comprador Reservado",
        "K-777",
        b_lot.code,
        b_lot.public_token,
        world.b.name,
        "national_id",
        "phone",
        "member_code",
        "receipt",
    ]
    return mine, secrets, built


def pdf_text(document: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(document)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_no_private_field_and_no_other_lot_on_any_public_output(
    client, private_world, api_token, tmp_path
):
    lot, secrets, built = private_world
    token = lot.public_token
    outputs = {
        "page es": client.get(f"/l/{token}", headers={"Accept-Language": "es"}).get_data(
            as_text=True
        ),
        "page en": client.get(f"/l/{token}", headers={"Accept-Language": "en"}).get_data(
            as_text=True
        ),
        "json": client.get(f"/l/{token}", headers={"Accept": "application/json"}).get_data(
            as_text=True
        ),
        "resolver": client.get(f"/01/07750000000014/10/{lot.code}").get_data(as_text=True),
        "linkset": client.get(f"/01/07750000000014/10/{lot.code}?linkType=all").get_data(
            as_text=True
        ),
        "events": client.get(f"/l/{token}/events.jsonld").get_data(as_text=True),
        "resolver events": client.get(f"/01/07750000000014/10/{lot.code}/events.jsonld").get_data(
            as_text=True
        ),
        "sheet es": pdf_text(
            client.get(f"/l/{token}/provenance.pdf?lang=es").data, tmp_path, "sheet-es"
        ),
        "sheet en": pdf_text(
            client.get(f"/l/{token}/provenance.pdf?lang=en").data, tmp_path, "sheet-en"
        ),
        "labels": pdf_text(
            client.get(
                f"/api/v1/lots/{lot.id}/labels.pdf", headers=api_token("manager.a@example.org")
            ).data,
            tmp_path,
            "labels",
        ),
    }
    # The page really is about this lot, with the names that may be shown...
    for name in ("page es", "page en", "json", "sheet es", "sheet en", "resolver"):
        assert lot.code in outputs[name], name
        assert "Consentida Nombre0" in outputs[name], name
    for name in ("linkset", "events", "resolver events"):
        assert lot.code in outputs[name], name
    # Reached by its Digital Link, nothing shows the token either.
    for name in ("resolver", "linkset", "resolver events"):
        assert token not in outputs[name], name
    json_text = outputs["json"]
    data = json.loads(json_text)
    assert data["origin"]["family_names"] == ["Consentida Nombre0", "Consentida Nombre2"]
    # ...the average (weighted by kg) that is no one family's price...
    assert data["prices"]["per_kg"][0]["price_per_kg"] == "9.71"
    assert data["prices"]["per_kg"][0]["premium_per_kg"] == "0.48"
    # ...and nothing private, nor anything of another lot, anywhere.
    leaks = [
        f"{secret!r} in {name}"
        for name, text in outputs.items()
        for secret in secrets
        if secret and secret in text
    ]
    assert not leaks, leaks
    assert data["lot"]["code"] == lot.code
    assert built.families  # the fixture's families are the ones behind this lot
