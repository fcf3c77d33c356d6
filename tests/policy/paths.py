from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parent.parent.parent / "policy"
