"""Validate an RPC payload against its contracts model, with one error shape everywhere."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.common.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """`model` validated from `data`, or InvalidInput("invalid_payload") listing the errors."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid_payload",
            "Les données envoyées sont invalides.",
            {"errors": exc.errors(include_url=False, include_context=False)},
        ) from None
