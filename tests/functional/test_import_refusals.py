"""Bad input to the CSV imports and the price form gets a clear, translated refusal and
changes nothing (found by helper-60 at stop 26): a plot named ambiguously by case or
accents is refused rather than guessed, a file of headers only is refused, the price
form's date error says how to write a date, in the reader's language."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlmodel import func, select

from tests.factories import (
    make_family,
    make_plot,
    make_sample_members,
)
from tracker.models import Delivery, ImportBatch, Plot

HEADER = "codigo_socio;parcela;cultivo;forma;fecha;peso_bruto_kg;tara_kg;humedad_pct;calidad;precio_kg;prima_kg\r\n"


def _count(db: Any, model: Any = Delivery) -> int:
    found = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return found


@pytest.fixture
def clerk(client, auth, world):
    auth.login("clerk.a@example.org")
    return client


@pytest.fixture
def members(db, world):
    make_sample_members(db, world.a)
    db.commit()
    return world


def _post(client, kind: str, data: bytes, name: str = "f.csv", **headers: str):
    return client.post(
        f"/c/COOPA/{kind}/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def _row(code="CAZ-1000", plot="Parcela 1", day="02/06/2026", gross="41,3", price="8,72") -> str:
    return f"{code};{plot};café;pergamino seco;{day};{gross};0,2;11,5;A;{price};0,40\r\n"


# -- defects ---------------------------------------------------------------------------


def test_plot_name_matching_two_plots_is_refused_not_guessed(clerk, world, db):
    """'parcela 1' folds to both 'Parcela 1' and 'PARCELA 1' (both allowed by plots._check,
    exact-name uniqueness): the import must not pick one silently."""
    family = make_family(db, world.a, member_code="CAZ-1000")
    make_plot(db, family, name="Parcela 1")
    make_plot(db, family, name="PARCELA 1")
    db.commit()
    response = _post(clerk, "deliveries", (HEADER + _row(plot="parcela 1")).encode())
    assert response.status_code == 422, response.status_code
    assert _count(db) == 0


def test_exact_plot_name_is_not_bound_to_its_case_twin(clerk, world, db):
    family = make_family(db, world.a, member_code="CAZ-1000")
    first = make_plot(db, family, name="Parcela 1")
    second = make_plot(db, family, name="PARCELA 1")
    db.commit()
    wanted = {first.name: first.id, second.name: second.id}
    for name in ("PARCELA 1", "Parcela 1"):
        body = (HEADER + _row(plot=name, gross="40" if name == "Parcela 1" else "41,3")).encode()
        response = _post(clerk, "deliveries", body)
        assert response.status_code in (303, 422)
        if response.status_code == 303:
            stored = db.exec(select(Delivery).order_by(Delivery.created_at.desc())).first()
            db.commit()
            assert stored.plot_id == wanted[name], f"{name} stored on the other plot"


def test_plots_import_refuses_a_name_that_differs_only_by_case(clerk, members, db):
    before = _count(db, Plot)
    body = "codigo_socio;parcela;cultivo;area_ha\r\nCAZ-1000;PARCELA 1;café;1,5\r\n".encode()
    response = _post(clerk, "plots", body)
    assert response.status_code == 422, response.status_code
    assert _count(db, Plot) == before


@pytest.mark.parametrize("kind", ["deliveries", "families", "plots"])
def test_a_file_of_only_headers_is_refused(clerk, members, db, kind):
    header = {
        "deliveries": HEADER,
        "families": "codigo_socio;jefe_de_familia;comunidad\r\n",
        "plots": "codigo_socio;parcela;cultivo;area_ha\r\n",
    }[kind]
    batches = _count(db, ImportBatch)
    response = _post(clerk, kind, header.encode())
    assert response.status_code == 422, response.status_code
    assert _count(db, ImportBatch) == batches


def test_price_form_bad_day_is_in_spanish(client, auth, world, db):
    auth.login("manager.a@example.org")
    response = client.post(
        "/c/COOPA/prices",
        data={"form": "dry_parchment", "day": "46174", "price_per_kg": "8,72"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid date" not in page, "English marshmallow message on a Spanish page"


def test_price_form_bad_day_in_english(client, auth, world, db):
    auth.login("manager.a@example.org")
    response = client.post(
        "/c/COOPA/prices",
        data={"form": "dry_parchment", "day": "32/13/2026", "price_per_kg": "8,72"},
        headers={"Accept-Language": "en"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "dd/mm/yyyy" in page, "the message should say how to write the date"


def test_a_cell_over_pythons_limit_is_refused_in_the_readers_words(clerk, members, db):
    """A cell of 200,000 characters was refused with Python's English ("field larger than
    field limit (131072)") inside the Spanish message (helper-60, stop 26)."""
    body = (HEADER + _row(plot="x" * 200_000)).encode()
    response = _post(clerk, "deliveries", body, **{"Accept-Language": "es"})
    assert response.status_code == 422, response.status_code
    page = response.get_data(as_text=True)
    assert "Una celda es más larga de lo que admite un archivo CSV (131.072 caracteres)" in page
    assert "field limit" not in page
    assert _count(db) == 0
