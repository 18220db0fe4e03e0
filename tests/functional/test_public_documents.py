"""What is printed for a lot: the provenance sheet and the sack labels, read back the way a
buyer's phone and an archivist would (rasterised, QR decoded, PDF/A metadata, text)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import biip
import pikepdf
import pytest

from tests import factories as f
from tracker.documents import pdf, sheets
from tracker.services import cooperatives, provenance, vocabulary

needs_tools = pytest.mark.skipif(
    not (shutil.which("zbarimg") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="zbar-tools or poppler-utils missing: run make sysdeps",
)


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a)
    db.commit()
    return built


def decode_every_qr(document: bytes, tmp_path: Path) -> list[list[str]]:
    """Rasterise each page at 150 dpi and decode every QR code on it with zbarimg."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "document.pdf"
    source.write_bytes(document)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", str(source), str(tmp_path / "page")], check=True
    )
    pages = []
    for image in sorted(tmp_path.glob("page-*.png")):
        out = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
            capture_output=True,
            text=True,
        )
        pages.append([line for line in out.stdout.splitlines() if line])
    return pages


def text_of(document: bytes, tmp_path: Path, *, layout: bool = True) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(document)
    options = ["-layout"] if layout else []
    return subprocess.run(
        ["pdftotext", *options, str(source), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_tools
def test_sheet_and_labels_carry_exactly_the_lots_digital_link(client, public, api_token, tmp_path):
    uri = f"https://trace.example.org/01/07750000000014/10/{public.lot.code}"
    sheet = client.get(f"/l/{public.lot.public_token}/provenance.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    pages = decode_every_qr(sheet.data, tmp_path / "sheet")
    assert pages[0] == [uri]
    assert all(codes == [] for codes in pages[1:])

    headers = api_token("manager.a@example.org")
    labels = client.get(f"/api/v1/lots/{public.lot.id}/labels.pdf", headers=headers)
    assert labels.status_code == 200 and labels.mimetype == "application/pdf"
    [codes] = decode_every_qr(labels.data, tmp_path / "labels")
    # one label per sack the lot fills at 69 kg a sack (the default)
    assert codes == [uri] * sheets.sacks_for(
        public.lot.weight_g, vocabulary.sack_g(public.lot.crop)
    )

    parsed = biip.parse(uri)
    assert parsed.gs1_digital_link_uri is not None, parsed.gs1_digital_link_uri_error
    elements = {e.ai.ai: e for e in parsed.gs1_digital_link_uri.element_strings}
    assert elements["01"].value == "07750000000014" and elements["01"].gtin_error is None
    assert elements["10"].value == public.lot.code


@needs_tools
def test_without_a_gtin_the_printed_qr_opens_the_token_page(client, db, world, api_token, tmp_path):
    built = f.make_public_lot(db, world.a, gtin=None)
    db.commit()
    uri = f"https://trace.example.org/l/{built.lot.public_token}"
    headers = api_token("manager.a@example.org")
    labels = client.get(f"/api/v1/lots/{built.lot.id}/labels.pdf?count=3", headers=headers)
    [codes] = decode_every_qr(labels.data, tmp_path / "labels")
    assert codes == [uri] * 3
    sheet = client.get(f"/api/v1/lots/{built.lot.id}/provenance.pdf", headers=headers)
    assert decode_every_qr(sheet.data, tmp_path / "sheet")[0] == [uri]
    assert biip.parse(uri).gs1_digital_link_uri is None


def test_sheet_is_an_a4_pdfa_3b_with_its_fonts_embedded(client, public):
    document = client.get(f"/l/{public.lot.public_token}/provenance.pdf").data
    with pikepdf.open(io.BytesIO(document)) as archive:
        with archive.open_metadata() as meta:
            assert meta.get("pdfaid:part") == "3"
            assert meta.get("pdfaid:conformance") == "B"
        assert "/OutputIntents" in archive.Root
        for page in archive.pages:
            x0, y0, x1, y1 = (float(v) for v in page.MediaBox)
            assert round(x1 - x0) == 595 and round(y1 - y0) == 842  # A4 in points
        fonts = [font for page in archive.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0] if descendant else font).get("/FontDescriptor")
            assert descriptor is not None and (
                "/FontFile2" in descriptor or "/FontFile3" in descriptor
            )


@needs_tools
def test_sheet_text_has_the_origin_claims_genealogy_and_issue_date(
    client, public, tmp_path, time_machine
):
    time_machine.move_to("2026-11-23 15:00:00+00:00", tick=False)
    document = client.get(
        f"/l/{public.lot.public_token}/provenance.pdf", headers={"Accept-Language": "en"}
    ).data
    text = " ".join(text_of(document, tmp_path).split())
    for expected in (
        "Café verde Pólvora",
        f"Lot {public.lot.code}",
        "GTIN 07750000000014",
        "368.0 kg (8.0 qq)",  # one decimal, as every summary (issue 15)
        "Grown by 4 families, 50 % of them led by women, on 4 plots (6.00 ha), at 1,100 to 1,400 m of altitude.",
        "Consentida Nombre0 · Consentida Nombre2",
        "Deforestation-free.",
        "Genealogy",
        "Hulling, giving green coffee",
        "Planta",
        "Issued on Nov 23, 2026",
    ):
        assert expected in text, expected
    # The URI printed under the QR code wraps in its narrow column.
    uri = f"https://trace.example.org/01/07750000000014/10/{public.lot.code}"
    assert uri in "".join(text_of(document, tmp_path, layout=False).split())


@needs_tools
def test_the_sheet_writes_its_origin_figures_in_spanish(client, public, tmp_path):
    """The sheet printed "(6.0 ha), de 1100 a 1400 m": hectares and metres not written by
    the formatting module the page and the CSVs use."""
    document = client.get(
        f"/l/{public.lot.public_token}/provenance.pdf", headers={"Accept-Language": "es"}
    ).data
    text = " ".join(text_of(document, tmp_path).split())
    assert "en 4 parcelas (6,00 ha), de 1.100 a 1.400 m de altitud." in text


def test_a_repeat_request_does_not_render_the_sheet_again(app, client, db, public, api_token):
    token = public.lot.public_token
    before = sheets.STATS["sheets"]
    first = client.get(f"/l/{token}/provenance.pdf")
    assert sheets.STATS["sheets"] == before + 1
    again = client.get(f"/l/{token}/provenance.pdf")
    assert again.data == first.data and sheets.STATS["sheets"] == before + 1
    # The manager's download in the same language is the same cached file.
    headers = api_token("manager.a@example.org") | {"Accept-Language": "es"}
    api = client.get(f"/api/v1/lots/{public.lot.id}/provenance.pdf", headers=headers)
    assert api.data == first.data and sheets.STATS["sheets"] == before + 1
    cached = list((Path(app.config["DATA_DIR"]) / "cache" / "provenance").glob("*.pdf"))
    assert [p.name.startswith(f"{public.lot.id}-") for p in cached] == [True]
    # A 304 for a browser that has it.
    etag = first.headers["ETag"]
    assert (
        client.get(f"/l/{token}/provenance.pdf", headers={"If-None-Match": etag}).status_code == 304
    )
    # Any change to a public fact renders a new one and forgets the old file.
    cooperatives.bump_public_version(db, public.lot.cooperative_id)
    db.commit()
    changed = client.get(f"/l/{token}/provenance.pdf", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and sheets.STATS["sheets"] == before + 2
    remaining = list((Path(app.config["DATA_DIR"]) / "cache" / "provenance").glob("*.pdf"))
    assert len(remaining) == 1 and remaining[0] not in cached


def test_the_real_sheet_fetches_nothing_from_disk_or_network(app, db, world):
    # Hostile text in every field a cooperative types is escaped, so nothing is fetched...
    hostile = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://127.0.0.1:9/x.css">'
    world.a.name = "Coop " + hostile
    built = f.make_public_lot(db, world.a)
    db.commit()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        facts = provenance.facts(db, built.lot, public_url=app.config["PUBLIC_URL"])
        facts.origin.communities[0] = type(facts.origin.communities[0])(
            name='url("file:///etc/shadow")', district=hostile, province="", region=""
        )
        html = sheets.sheet_html(facts, "en")
    fetcher = pdf.AssetFetcher()
    assert pdf.render_html(html, fetcher=fetcher).startswith(b"%PDF")
    assert fetcher.refused == []
    assert "&lt;img src=" in html
    # ...and the sheet's own template, made to ask for files and URLs, gets none of them.
    injected = html.replace(
        "</body>",
        '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/steal.png">'
        '<link rel="stylesheet" href="https://cdn.example.org/x.css"></body>',
    ).replace(
        "</style>",
        '@font-face { font-family: X; src: url("file:///etc/hostname"); } body { font-family: X, "Noto Sans"; }</style>',
        1,
    )
    fetcher = pdf.AssetFetcher()
    pdf.render_html(injected, fetcher=fetcher)
    refused = " ".join(fetcher.refused)
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/steal.png",
        "https://cdn.example.org/x.css",
        "file:///etc/hostname",
    ):
        assert url in refused, url
    assert not any("vendor/fonts" in url or url.startswith("data:") for url in fetcher.refused)


def test_qr_codes_from_the_api(client, public, api_token, tmp_path):
    headers = api_token("clerk.a@example.org")
    uri = f"https://trace.example.org/01/07750000000014/10/{public.lot.code}"
    svg = client.get(f"/api/v1/lots/{public.lot.id}/qr.svg", headers=headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<svg") and b"href" not in svg.data
    png = client.get(f"/api/v1/lots/{public.lot.id}/qr.png", headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    if shutil.which("zbarimg"):
        (tmp_path / "qr.png").write_bytes(png.data)
        out = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(tmp_path / "qr.png")],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == uri


def test_lot_outputs_need_a_token_and_the_lots_cooperative(client, db, world, public, api_token):
    base = f"/api/v1/lots/{public.lot.id}"
    for path in ("qr.svg", "qr.png", "labels.pdf", "provenance.pdf"):
        assert client.get(f"{base}/{path}").status_code == 401
    other = api_token("manager.b@example.org")
    for path in ("qr.svg", "qr.png", "labels.pdf", "provenance.pdf"):
        assert client.get(f"{base}/{path}", headers=other).status_code == 404
    own = api_token("auditor.a@example.org")
    assert client.get(f"{base}/labels.pdf?count=0", headers=own).status_code == 422
    assert client.get(f"{base}/labels.pdf?count=401", headers=own).status_code == 422
    assert client.get(f"{base}/labels.pdf?count=lots", headers=own).status_code == 422
    nine = client.get(f"{base}/labels.pdf?count=9&sack_kg=40", headers=own)
    with pikepdf.open(io.BytesIO(nine.data)) as document:
        assert len(document.pages) == 2


def test_the_managers_lot_page_links_work_with_the_login_session(client, auth, public):
    paths = [
        f"/lots/{public.lot.id}/{name}"
        for name in ("qr.svg", "qr.png", "labels.pdf", "provenance.pdf")
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("manager.a@example.org")
    lot_page = client.get(f"/lots/{public.lot.id}").get_data(as_text=True)
    for path in paths:
        # the labels are a form (sacks, kg per sack, language); the others are links
        assert f'href="{path}"' in lot_page or f'action="{path}"' in lot_page, path
    expected = ["image/svg+xml", "image/png", "application/pdf", "application/pdf"]
    assert [client.get(path).mimetype for path in paths] == expected
    auth.logout()
    auth.login("manager.b@example.org")
    assert [client.get(path).status_code for path in paths] == [404] * 4
