"""What an uploaded image really is, read from its bytes.

A file's name and the content type its browser sent are the sender's claims: a text file
renamed `.png` carries both. Pillow parses the bytes instead, and only the formats the
platform takes for image messages are tried, so no other image parser sees the upload.
"""

import os

from django.core.files.uploadedfile import UploadedFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from accounts.errors import InvalidInput

IMAGE_LIMIT = 10 * 1024 * 1024  # the platform's temporary image media: 10 MB

# Pillow's format name -> the content type and extension the file is stored and uploaded
# with. MPO is how Pillow names the multi-picture JPEGs many phone cameras write.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "BMP": ("image/bmp", "bmp"),
}
EXTENSIONS = dict(FORMATS.values())
_PLUGINS = ["JPEG", "PNG", "GIF", "BMP"]  # MPO files are opened by the JPEG plugin


def image_check(upload: UploadedFile) -> str:
    """The content type of the image's real format (JPEG, PNG, GIF or BMP); InvalidInput,
    with the reason, for anything else, anything over 10 MB and decompression bombs.
    The file is left rewound, ready to be stored."""
    if upload.size is not None and upload.size > IMAGE_LIMIT:
        raise InvalidInput(_("An image may be at most 10 MB."))
    try:
        # verify() checks the file's structure without decoding it, and leaves the image
        # unusable: the format is read from a second open.
        upload.seek(0)
        with Image.open(upload, formats=_PLUGINS) as image:
            image.verify()
        upload.seek(0)
        with Image.open(upload, formats=_PLUGINS) as image:
            found, pixels = image.format, image.width * image.height
    except Image.DecompressionBombError as exc:
        raise InvalidInput(_too_large()) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports broken files through all of these, depending on the format.
        raise InvalidInput(
            _("This file is not a JPEG, PNG, GIF or BMP image (or it is damaged).")
        ) from exc
    finally:
        upload.seek(0)
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a bomb is refused either way.
    if Image.MAX_IMAGE_PIXELS and pixels > Image.MAX_IMAGE_PIXELS:
        raise InvalidInput(_too_large())
    if found not in FORMATS:
        raise InvalidInput(_("Send a JPEG, PNG, GIF or BMP image."))
    return FORMATS[found][0]


def image_name(name: str, content_type: str) -> str:
    """`name` with the extension of the image's real format, e.g. a PNG sent as
    `photo.jpg` is stored as `photo.png`, so whatever reads the name later is right."""
    stem = os.path.splitext(os.path.basename(name or ""))[0] or "image"
    return f"{stem}.{EXTENSIONS[content_type]}"


def _too_large() -> str:
    limit = number_format(Image.MAX_IMAGE_PIXELS, force_grouping=True)
    return _("This image has too many pixels (at most %(limit)s).") % {"limit": limit}
