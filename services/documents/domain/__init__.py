"""documents' rules: categories, what an upload must be, who may see or change a document,
how its status reads, and what the generated PDFs print.

Pure: no Nameko, no SQLAlchemy, no I/O, no message shapes (handlers build those); the clock
and ids are passed in. The names other layers use are gathered here.
"""
from services.documents.domain.access import (MISSING_DOCUMENTS, Scope, can_see,
                                              check_deletable, check_deposit_right, check_owner,
                                              document_not_found, is_owner, scope_for, seen_by,
                                              status_of)
from services.documents.domain.categories import (GLOBAL, JPEG, PDF, PNG, Category,
                                                  categories_matching, category_not_found,
                                                  new_category, size_fr)
from services.documents.domain.documents import (CHECKED, COMPLETION_CERTIFICATE, DEPOSITED,
                                                 DEPOSITED_BY_FUNDER, GENERATED, REJECTED,
                                                 Document, DossierFacts, Group, by_category,
                                                 certificate_filename, certificate_label,
                                                 certificate_not_filed_yet,
                                                 check_replaceable, check_upload_request,
                                                 new_certificate, new_upload, safe_name_part)
from services.documents.domain.files import (Inspected, blob_path, display_filename,
                                             inspect_upload, sha256_of)
from services.documents.domain.signed import (check_signed_certificate, has_scanned_page,
                                              is_digitally_signed)

__all__ = [
    "MISSING_DOCUMENTS", "check_deposit_right",
    "CHECKED", "COMPLETION_CERTIFICATE", "DEPOSITED", "DEPOSITED_BY_FUNDER", "GENERATED", "GLOBAL",
    "JPEG", "PDF", "PNG", "REJECTED", "Category", "Document", "DossierFacts", "Group",
    "Inspected", "Scope", "blob_path", "by_category", "can_see", "categories_matching",
    "category_not_found", "certificate_filename", "check_signed_certificate", "certificate_label",
    "certificate_not_filed_yet", "check_deletable",
    "check_owner", "check_replaceable", "check_upload_request", "display_filename",
    "document_not_found", "has_scanned_page", "inspect_upload", "is_digitally_signed", "is_owner", "new_category", "new_certificate",
    "new_upload", "safe_name_part", "scope_for", "seen_by", "sha256_of", "size_fr", "status_of",
]
