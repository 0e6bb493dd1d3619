"""documents' I/O adapters, as Nameko dependencies: the PDF renderer and the file store.

They live here, not in domain.py (which does no I/O) nor in service.py (entrypoints only).

- `PdfRenderer`: jinja2 HTML -> weasyprint PDF. weasyprint is CPU-bound Python and C (pango):
  run in the event loop it would starve the AMQP heartbeats and every other worker, so each
  render runs in a native thread (eventlet.tpool), one at a time per process (the cached font
  configuration and stylesheet are shared; replicas give the parallelism).
- `FileStore`: bytes on local disk, content-addressed (<files_dir>/<sha[:2]>/<sha>), written
  atomically (temp file + os.replace), so a crash never leaves half a file under a real name
  and the same bytes are stored once. User-supplied names never reach a path.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from eventlet import tpool
from eventlet.semaphore import Semaphore
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from nameko.extensions import DependencyProvider

from servicekit import config
from servicekit.formatting import JINJA_FILTERS
from services.documents.domain import blob_path, sha256_of

TEMPLATES = Path(__file__).resolve().parent / "templates"


class _Toolkit:
    """The per-process caches: one jinja2 Environment, one FontConfiguration, one CSS."""

    _instance: "_Toolkit | None" = None

    def __init__(self) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                               autoescape=select_autoescape(["html"]))
        self.env.filters.update(JINJA_FILTERS)
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(TEMPLATES / "certificate.css"),
                              font_config=self.font_config)
        self.lock = Semaphore(1)

    @classmethod
    def get(cls) -> "_Toolkit":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


def _html_to_pdf(html: str, toolkit: _Toolkit) -> bytes:
    """Runs in a native thread: touches no green primitive."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[toolkit.stylesheet], font_config=toolkit.font_config)


class PdfRenderer(DependencyProvider):
    """Injects `render(template_name, context) -> bytes` (a PDF)."""

    def setup(self) -> None:
        self.toolkit = _Toolkit.get()

    def get_dependency(self, worker_ctx) -> "PdfRenderer":
        return self

    def render(self, template_name: str, context: dict) -> bytes:
        html = self.toolkit.env.get_template(template_name).render(context)
        with self.toolkit.lock:
            return tpool.execute(_html_to_pdf, html, self.toolkit)


class FileStore(DependencyProvider):
    """Injects itself: `put(content) -> sha256`, `get(sha256) -> bytes`."""

    def setup(self) -> None:
        self.root = config.load().files_dir

    def get_dependency(self, worker_ctx) -> "FileStore":
        return self

    def put(self, content: bytes) -> str:
        sha256 = sha256_of(content)
        target = Path(blob_path(self.root, sha256))
        if target.exists():  # same bytes already stored: content addressing dedupes
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        return Path(blob_path(self.root, sha256)).read_bytes()
