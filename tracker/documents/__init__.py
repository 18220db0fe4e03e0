"""Documents the tracker produces: QR codes, PDFs (WeasyPrint), exports (EPCIS, EUDR, CSV)."""
