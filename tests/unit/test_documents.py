"""The document basics every PDF and QR code builds on."""

import io
import shutil
import subprocess

import pikepdf
import pytest

from tracker.documents import pdf, qr

HOSTILE = """<html><head><style>
@font-face { font-family: X; src: url("file:///etc/passwd"); }
body { background: url("http://127.0.0.1:9/steal.png"); }
</style><link rel="stylesheet" href="ftp://example.org/x.css"></head>
<body><p>Hola, Cordillera Azul</p>
<img src="file:///etc/hostname"><img src="../../../etc/passwd"><img src="vendor/fonts/LICENSE">
<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnLz4="></body></html>"""


def test_pdf_fetcher_refuses_files_and_network_but_serves_own_assets_and_data():
    fetcher = pdf.AssetFetcher()
    document = pdf.render_html(HOSTILE, fetcher=fetcher)
    assert document.startswith(b"%PDF")
    refused = " ".join(fetcher.refused)
    assert "file:///etc/passwd" in refused
    assert "http://127.0.0.1:9/steal.png" in refused
    assert "ftp://example.org/x.css" in refused
    assert "file:///etc/hostname" in refused
    assert not any("vendor/fonts/LICENSE" in url for url in fetcher.refused)
    assert not any(url.startswith("data:") for url in fetcher.refused)


def test_pdf_is_pdfa_3b_with_embedded_fonts():
    html = '<html lang="es"><head><title>Prueba</title><style>@font-face{font-family:N;src:url("vendor/fonts/noto-sans-latin-400-normal.woff")} body{font-family:N}</style></head><body><p>Café de Pólvora, San Martín</p></body></html>'
    document = pikepdf.open(io.BytesIO(pdf.render_html(html)))
    with document.open_metadata() as meta:
        assert meta.get("pdfaid:part") == "3"
        assert meta.get("pdfaid:conformance") == "B"
    assert "/OutputIntents" in document.Root
    fonts = [f for page in document.pages for f in page.Resources.Font.values()]
    assert fonts and all(
        "/FontFile2" in f.get("/FontDescriptor", {}) or "/DescendantFonts" in f for f in fonts
    )


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="zbar-tools missing: run make sysdeps")
def test_qr_png_decodes_to_the_same_text(tmp_path):
    uri = "https://trace.example.org/01/07750000000015/10/CAF-2026-0042"
    path = tmp_path / "qr.png"
    path.write_bytes(qr.png(uri))
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == uri


def test_qr_svg_is_self_contained():
    markup = qr.svg("https://trace.example.org/l/abc", title="QR")
    assert markup.startswith("<svg") and "href" not in markup and 'aria-label="QR"' in markup
