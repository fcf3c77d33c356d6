"""Issue 12: learners' names, ID numbers and phones never sit in clear in Temporal's database.
A journey enrolled, checked, signed and paid through the HTTP API on a real dev server that
keeps its state in a SQLite file; then the file itself is read."""

import json
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter

from scripts.demo_journey import applicant
from tests import servers
from tests.e2e import enrol_to_payment, pay, platform


def found_in(raw: bytes, *values: str) -> list[str]:
    """The values present in `raw` as UTF-8 or as JSON's \\u escapes."""
    return [v for v in values if v.encode() in raw or json.dumps(v)[1:-1].encode() in raw]


async def test_the_dev_servers_database_file_holds_no_personal_data_in_clear(
    tmp_path: Path,
) -> None:
    db = tmp_path / "temporal.db"
    env = await servers.dev_server_env(db_filename=str(db))
    marker = f"在案-{uuid.uuid4().hex}"  # the control: a payload stored without the codec
    try:
        async with platform(env, tmp_path) as p, p.worker():
            wf_id, me = await enrol_to_payment(p, "learner2")
            await pay(p, wf_id, me)
            await p.until(wf_id, me, lambda s: s["stage"] == "theory")
            plain = Client(env.client.service_client, namespace=env.client.namespace)
            assert plain.data_converter is DataConverter.default
            await plain.start_workflow("NoSuchWorkflow", marker, id=marker, task_queue="none")
    finally:
        await env.shutdown()  # the server closes its file (and its write-ahead log)
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("temporal.db*"))
    person = applicant("learner2")
    assert found_in(raw, wf_id, marker) == [wf_id, marker]  # the file is read in clear
    assert found_in(raw, person["name"], person["phone"], person["id_number"]) == []
