"""Opening an uploaded xlsx safely, the same way for every service that reads one.

An xlsx is a zip: its members' declared sizes are summed before openpyxl inflates anything,
so a small upload cannot expand into gigabytes (a "zip bomb"); whatever openpyxl or zipfile
raise on a file that is not a workbook becomes the caller's own InvalidInput.
"""
from __future__ import annotations

import io
import zipfile
from typing import Callable, Iterator

from servicekit.errors import InvalidInput

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024


def first_sheet_rows(content: bytes, not_a_workbook: Callable[[], InvalidInput],
                     max_columns: int | None = None) -> Iterator[tuple]:
    """The first sheet's rows as value tuples (openpyxl read-only)."""
    from openpyxl import load_workbook  # heavy: only when an xlsx comes

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise InvalidInput("file_too_large", "Le fichier décompressé est trop volumineux.",
                                   {"max_unzipped_bytes": MAX_UNZIPPED_BYTES})
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except InvalidInput:
        raise
    except Exception:  # noqa: BLE001 - openpyxl/zipfile raise many kinds on a bad file
        raise not_a_workbook() from None
    if not workbook.worksheets:
        raise not_a_workbook()
    return workbook.worksheets[0].iter_rows(values_only=True, max_col=max_columns)
