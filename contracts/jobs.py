"""Long work as jobs (docs/jobs.md): what a submission answers and GET /jobs/{job_id} shows.

A job is run by the service that owns its kind (servicekit.jobs); its id starts with that
service's name, so the gateway knows whom to ask without a lookup.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.common import Shape

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
MAX_LISTED = 200

_A_JOB_ID = "payments-3f2b9c1e8d7a4b6c9e0f1a2b3c4d5e6f"


class JobPhase(Shape):
    name: str = Field(description="l'étape, dans l'ordre où le travail les parcourt",
                      examples=["payments"])
    done: int = Field(description="éléments traités dans cette étape", examples=[120])
    total: int | None = Field(None, description="éléments à traiter ; null tant qu'on ne le "
                                                "sait pas (étape pas encore commencée)",
                              examples=[500])


class JobError(Shape):
    code: str = Field(description="code stable, snake_case : job_failed, job_interrupted "
                                  "(le service est tombé trois fois pendant le travail)...",
                      examples=["job_interrupted"])
    message: str = Field(description="explication en français",
                         examples=["Le travail a été interrompu trois fois ; soumettez-le "
                                   "de nouveau."])


class JobFile(Shape):
    name: str = Field(description="nom du fichier produit", examples=["reglements.xlsx"])
    media_type: str = Field(description="type du fichier",
                            examples=["application/vnd.openxmlformats-officedocument."
                                      "spreadsheetml.sheet"])
    url: str = Field(description="où le télécharger", examples=[f"/jobs/{_A_JOB_ID}/file"])


class Job(Shape):
    """Un travail long (import, export) : son état, sa progression par étape, puis son bilan,
    le compte rendu ligne par ligne ou le fichier produit."""

    id: str = Field(description="l'identifiant du travail, préfixé par le service qui le "
                                "fait", examples=[_A_JOB_ID])
    kind: str = Field(description="la sorte de travail", examples=["payments.import"])
    status: JobStatus = Field(description="queued (en attente), running (en cours), "
                                          "succeeded (terminé), failed (échoué), cancelled "
                                          "(annulé)")
    phases: list[JobPhase] = Field(description="la progression, étape par étape")
    created_at: datetime = Field(description="quand il a été soumis")
    started_at: datetime | None = Field(None, description="quand il a commencé")
    finished_at: datetime | None = Field(None, description="quand il s'est terminé, quelle "
                                                           "qu'en soit l'issue")
    summary: dict = Field({}, description="le bilan à la fin : les comptes (créés, "
                                          "inchangés, refusés...)",
                          examples=[{"created": 498, "unchanged": 0, "errors": 2}])
    items: list[dict] | None = Field(None, description="le compte rendu de chaque ligne, "
                                                       "dans l'ordre (seulement dans GET "
                                                       "/jobs/{job_id})")
    error: JobError | None = Field(None, description="pourquoi il a échoué")
    file: JobFile | None = Field(None, description="le fichier produit, quand il y en a un")
    cancel_requested: bool = Field(False, description="une annulation est demandée : le "
                                                      "travail s'arrête à sa prochaine étape")
    resubmitted: bool = Field(False, description="la même demande avait déjà été soumise : "
                                                 "c'est ce travail-là, pas un nouveau")


class JobQuery(Shape):
    status: JobStatus | None = Field(None, description="seulement les travaux dans cet état")
    kind: str | None = Field(None, max_length=60, description="seulement cette sorte",
                             examples=["payments.import"])
    limit: int = Field(50, ge=1, le=MAX_LISTED, description="au plus tant de travaux, les "
                                                            "plus récents d'abord")


class JobFileContent(Shape):
    """What a service's job_file RPC answers: the file, for the gateway to send."""

    filename: str = Field(description="the file's name", examples=["reglements.xlsx"])
    content_type: str = Field(description="its media type", examples=["text/csv"])
    content_base64: str = Field(description="its bytes, base64", examples=["UEsDBBQ="])
