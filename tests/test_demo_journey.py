"""The demo driver takes a learner from sign-up to graduation on the whole platform in-process:
dev server, simulators over HTTP, the API on uvicorn with demo data and slots, a real worker."""

from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from scripts.demo_journey import DemoUrls, run_demo
from tests.e2e import bank_by_payer, ledger_by_payer, platform


async def test_the_demo_takes_a_learner_to_graduation(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    lines: list[str] = []
    # The health centre answers on its own (as under `make run`); the examiner is the demo.
    async with platform(dev_env, tmp_path, health_auto_result_seconds=0.2) as p, p.worker():
        urls = DemoUrls(
            api=p.settings.api_base_url,
            timing=p.sims.urls["timing"],
            exam=p.sims.urls["exam"],
            bank=p.sims.urls["bank"],
            health=p.sims.urls["health"],
        )
        result = await run_demo(
            urls, "learner2", lambda: httpx.AsyncClient(timeout=30), say=lines.append
        )
        await p.sims.drain()

        assert result["stage"] in ("followup", "closed"), result["log"][-3:]
        assert result["status"] in ("active", "completed")
        assert result["certificate_no"].startswith("JY")
        assert set(result["archive"]) == {
            "registration",
            "teaching_log",
            "training_records",
            "certificate",
        }
        assert result["certificate_pdf"].startswith(b"%PDF")
        # Every fen the bank moved is in the platform's ledger, and escrow is settled to zero.
        ledger = ledger_by_payer(p)
        assert ledger == await bank_by_payer(p)
        deposited, released, refunded = ledger[result["workflow_id"]]
        assert deposited == released + refunded and released > 0
        m = result["money"]
        assert [m["deposited_fen"], m["released_fen"], m["refunded_fen"]] == [
            deposited,
            released,
            refunded,
        ]

    # It told the story in both languages, step by step.
    text = "\n".join(lines)
    for words in ("面签", "Sign by hand", "科目二", "科目三", "阶段报审", "结业", "certificate"):
        assert words in text
