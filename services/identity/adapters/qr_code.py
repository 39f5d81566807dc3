"""MFA-2: the otpauth URI as a QR code an authenticator app scans, an SVG document (segno)."""

from __future__ import annotations

import io

import segno


def qr_svg(data: str, *, scale: int = 4) -> str:
    """A standalone SVG (no XML declaration) of `data`, error correction level M."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, title="MFA QR code"
    )
    return buffer.getvalue().decode("utf-8")
