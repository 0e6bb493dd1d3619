"""servicekit.caller: the calling service named from Nameko's call-id stack."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from servicekit.caller import CallingService, service_of


@pytest.mark.parametrize("call_id, expected", [
    ("payments.record_payment.4f1c", "payments"), ("gateway.remittance.9a", "gateway"),
    (None, None), ("", None)])
def test_the_caller_is_the_service_of_the_last_call_id(call_id, expected):
    assert service_of(call_id) == expected
    worker = SimpleNamespace(immediate_parent_call_id=call_id)
    assert CallingService().get_dependency(worker) == expected
