"""The live OpenAPI document against the running server (schemathesis): whatever it generates from the
document, the server never answers 500. Kept fast: a few examples per operation, and no real pipeline run
(generated uploads are not videos, so they are refused before any job is queued).

schemathesis's own pytest integration does not run under pytest 9 (it reads a private attribute that is
gone), so the operations are driven here with hypothesis directly, from schemathesis's case strategies.
"""

from __future__ import annotations

import pytest
from server_helpers import AUTH, settings_for

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from gaitid.sources import LiveOptions  # noqa: E402

EXAMPLES = 8
STREAMING = r"/events$|/stream\.mjpg$"  # endless streams, tested in test_server_live.py


def test_no_generated_request_makes_the_server_fail(loopback_server, make_gallery, tmp_path):
    # Live sources give up opening within a second, so that a generated address cannot hold the test up.
    live = LiveOptions(open_timeout=1.0, give_up_after=2.0)
    server = loopback_server(settings_for(make_gallery("walker", "jumper"), tmp_path, live=live))
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.exclude(path_regex=STREAMING).get_all_operations()]
    assert len(operations) >= 14, [op.label for op in operations]
    tried = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=server.url, headers=AUTH, checks=[not_a_server_error], timeout=30)

        check()
        tried.append(operation.label)
    assert any("POST /api/identify" in label for label in tried)
    assert server.service.jobs.jobs() == [] or all(j.status != "running" for j in server.service.jobs.jobs())
