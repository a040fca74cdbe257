"""Property-based requests generated from /openapi.json (schemathesis strategies, driven by hypothesis), valid
ones and invalid ones, with a write token: no answer is a 500."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from .conftest import Served
from .flows import run_once

EXAMPLES = 12


def test_no_generated_request_makes_the_server_fail(served: Served) -> None:
    run_once(served.store)  # run 1 with tasks 0 and 1, version 1 of 'Server Flow': generated ids sometimes hit it
    schema = schemathesis.openapi.from_url(served.server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {served.tokens['write']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 24
    calls = 0
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to make invalid (a route without parameters)
    served.server.app.state.ctx.actions.wait_idle(30)
    assert calls >= len(operations) * 10
