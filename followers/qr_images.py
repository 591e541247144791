"""A QR code's image for print: drawn here from the code's URL (what WeChat reads when it
is scanned) with the `qrcode` library, the one routing.account_paths already uses (so no
second QR library such as segno is added), at high error correction (H: 30 % of the
modules may be lost under a logo or a fold) and a poster-friendly size."""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H

POSTER_PX = 1200
BORDER = 4  # the quiet zone the standard asks for, in modules


def qr_poster_png(url: str, *, size: int = POSTER_PX) -> bytes:
    """A ``size`` x ``size`` black-on-white PNG of ``url``; the modules are whole pixels
    (the image is centred in the white margin that remains)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=BORDER)
    code.add_data(url)
    code.make(fit=True)
    modules = code.modules_count + 2 * BORDER
    code.box_size = max(1, size // modules)
    drawn = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    canvas = Image.new("L", (max(size, drawn.width), max(size, drawn.height)), 255)
    canvas.paste(drawn, ((canvas.width - drawn.width) // 2, (canvas.height - drawn.height) // 2))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()
