"""Workflow ids of a learner's enrolments: every enrolment gets an id of its own.

Idempotency keys, bank orders and the read-model row all derive from the workflow id, so an id
is never used by two enrolments. The first enrolment of a learner at a school for a class takes
the plain id, later ones (after a withdrawal, or a transfer back) the next free number. Starting
with the conflict policy USE_EXISTING keeps a double submit to one journey: both requests probe
the same ids in the same order and meet at the running one.
"""

from collections.abc import Iterator

MAX_ENROLMENTS = 50  # per learner, school and class: far beyond any real learner


def journey_ids(learner_id: str, school_id: str, vehicle_class: str) -> Iterator[str]:
    base = f"journey-{learner_id}-{school_id}-{vehicle_class}"
    yield base
    for n in range(2, MAX_ENROLMENTS + 1):
        yield f"{base}-{n}"
