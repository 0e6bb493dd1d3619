"""documents' I/O adapters, as Nameko dependencies: the PDF renderer and the file store.

They live here, not in the domain (which does no I/O) nor in service.py (entrypoints only).

- `PdfRenderer`: jinja2 HTML -> weasyprint PDF. weasyprint is CPU-bound Python and C (pango):
  run in the event loop it would starve the AMQP heartbeats and every other worker, so each
  render runs in a native thread (eventlet.tpool), one at a time per process (the cached font
  configuration, stylesheet and decoded images are shared; replicas give the parallelism).
  Images (logo, stamp) are given as bytes and reached by `jalon-file:<sha256>` URLs that only
  our fetcher serves: a template can make weasyprint read no file and no network address.
- `FileStore`: bytes on local disk, content-addressed (<files_dir>/<sha[:2]>/<sha>), written
  atomically (temp file + os.replace), so a crash never leaves half a file under a real name
  and the same bytes are stored once. User-supplied names never reach a path.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

from eventlet import tpool
from eventlet.semaphore import Semaphore
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from nameko.extensions import DependencyProvider
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from servicekit import config, metrics
from contracts.common.formatting import JINJA_FILTERS
from services.documents.domain import blob_path, sha256_of
from services.documents.domain.pdfs import IMAGE_SCHEME

TEMPLATES = Path(__file__).resolve().parent / "templates"
STYLESHEET = TEMPLATES / "pdf.css"


IMAGE_CACHE_LIMIT = 256
"""Decoded images kept between renders; beyond, the cache starts afresh (between renders
only: weasyprint keeps keys of the image being drawn)."""


class _StoredImages(URLFetcher):
    """A weasyprint URL fetcher that serves jalon-file:<sha256> from memory and refuses every
    other URL. Holds at most IMAGE_CACHE_LIMIT images (the oldest go first)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=())
        self._images: OrderedDict[str, bytes] = OrderedDict()

    def keep(self, images: dict[str, bytes]) -> None:
        for sha256, content in images.items():
            self._images[sha256] = content
            self._images.move_to_end(sha256)
        while len(self._images) > IMAGE_CACHE_LIMIT:
            self._images.popitem(last=False)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        sha256 = url.removeprefix(IMAGE_SCHEME) if url.startswith(IMAGE_SCHEME) else None
        if sha256 not in self._images:
            raise ValueError(f"refused URL {url[:80]!r}: only stored images are rendered")
        return URLFetcherResponse(url, self._images[sha256])


class _Toolkit:
    """The per-process caches: one jinja2 Environment, one FontConfiguration, one CSS, the
    images and weasyprint's cache of decoded images."""

    _instance: "_Toolkit | None" = None

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                               autoescape=select_autoescape(["html"]))
        self.env.filters.update(JINJA_FILTERS)
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(filename=str(STYLESHEET), font_config=self.font_config)
        self.images = _StoredImages()
        self.image_cache: dict = {}
        self.lock = Semaphore(1)

    @classmethod
    def get(cls) -> "_Toolkit":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


def _html_to_pdf(html: str, toolkit: _Toolkit) -> bytes:
    """Runs in a native thread: touches no green primitive."""
    return HTML(string=html, base_url=str(TEMPLATES), url_fetcher=toolkit.images
                ).write_pdf(stylesheets=[toolkit.stylesheet], font_config=toolkit.font_config,
                            cache=toolkit.image_cache)


class PdfRenderer(DependencyProvider):
    """Injects `render(template_name, context, images=None) -> bytes` (a PDF); `images` maps
    sha256 -> bytes of the images the context names by `domain.pdfs.image_url(sha256)`."""

    def setup(self) -> None:
        self.toolkit = _Toolkit.get()

    def get_dependency(self, worker_ctx) -> "PdfRenderer":
        return self

    def html(self, template_name: str, context: dict) -> str:
        return self.toolkit.env.get_template(template_name).render(context)

    def render(self, template_name: str, context: dict,
               images: dict[str, bytes] | None = None) -> bytes:
        html = self.html(template_name, context)
        toolkit = self.toolkit
        with toolkit.lock:
            if len(toolkit.image_cache) > IMAGE_CACHE_LIMIT:
                toolkit.image_cache.clear()
            toolkit.images.keep(images or {})
            started = time.monotonic()  # the render itself, not the wait for the lock
            pdf = tpool.execute(_html_to_pdf, html, toolkit)
        document = Path(template_name).stem
        metrics.PDF_SECONDS.labels(document).observe(time.monotonic() - started)
        metrics.PDFS_RENDERED.labels(document).inc()
        return pdf


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
