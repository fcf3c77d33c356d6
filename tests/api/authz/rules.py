"""Who may call each route of the API, and how its tenant is scoped: one line a route.

A route the OpenAPI lists without a line here fails tests/api/authz/test_matrix.py, and so does
a line for a route that no longer exists. Adding a route's rule is adding its line.
"""

from dataclasses import dataclass

# Who calls: a role with a bearer token, a subsystem with a signed callback, or anyone.
LEARNER, STAFF, REGULATOR, OPS, ADMIN = "learner", "school_staff", "regulator", "ops", "admin"
ROLES = (LEARNER, STAFF, REGULATOR, OPS, ADMIN)
SUBSYSTEM, ANYONE, SIGNED_IN = "signed webhook", "public", "any signed-in role"


@dataclass(frozen=True)
class Rule:
    caller: str  # a role, SUBSYSTEM, ANYONE or SIGNED_IN
    scope: str  # the tenant the call is bound to; "" when every caller of the role may

    @property
    def scoped(self) -> bool:
        return bool(self.scope)


OWN_JOURNEY = Rule(LEARNER, "the learner's own journeys, complaints, reviews, consultations")
LEARNER_PORT = Rule(LEARNER, "")  # the catalogue, enrolling, asking a school: any learner
OWN_SCHOOL = Rule(STAFF, "the staff member's own school")
OWN_REGION = Rule(REGULATOR, "the regulator's own region (a province covers its cities)")
OPS_PORT = Rule(OPS, "")  # platform-wide
SIGNED = Rule(SUBSYSTEM, "")  # HMAC-signed by the subsystem; a role's token is not enough
PUBLIC = Rule(ANYONE, "")
ME = Rule(SIGNED_IN, "the caller's own account")

RULES: dict[str, Rule] = {
    "POST /api/auth/token": PUBLIC,
    "GET /api/auth/me": ME,
    # ---- learner port
    "GET /api/learner/schools": LEARNER_PORT,
    "GET /api/learner/schools/{school_id}/coaches": LEARNER_PORT,
    "GET /api/learner/schools/{school_id}/reviews": LEARNER_PORT,
    "GET /api/learner/v2/schools": LEARNER_PORT,
    "GET /api/learner/v2/schools/{school_id}": LEARNER_PORT,
    "GET /api/learner/v2/schools/{school_id}/coaches": LEARNER_PORT,
    "POST /api/learner/journeys": LEARNER_PORT,
    "POST /api/learner/consultations": LEARNER_PORT,
    "GET /api/learner/journeys": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}/health-centres": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/health-check": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}/contract.pdf": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/contract/signature": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/payment": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}/invoice.pdf": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/withdraw": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}/slots": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/bookings": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/bookings/{booking_id}/cancel": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/records/{record_no}/confirm": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/records/{record_no}/dispute": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/stages/{subject}/confirm": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/stages/{subject}/rating": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/stages/{subject}/report/confirm": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/exams": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/exams/{subject}/cancel": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/coach-change": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/followup": OWN_JOURNEY,
    "POST /api/learner/journeys/{wf_id}/transfer": OWN_JOURNEY,
    "GET /api/learner/journeys/{wf_id}/documents/{kind}.pdf": OWN_JOURNEY,
    "GET /api/learner/reviews": OWN_JOURNEY,
    "PUT /api/learner/reviews/{review_id}": OWN_JOURNEY,
    "GET /api/learner/consultations": OWN_JOURNEY,
    "POST /api/learner/complaints": OWN_JOURNEY,
    "GET /api/learner/complaints": OWN_JOURNEY,
    "GET /api/learner/complaints/{complaint_id}": OWN_JOURNEY,
    "POST /api/learner/complaints/{complaint_id}/rating": OWN_JOURNEY,
    "POST /api/learner/complaints/{complaint_id}/reopen": OWN_JOURNEY,
    # ---- school port
    "GET /api/school/journeys": OWN_SCHOOL,
    "GET /api/school/journeys/{wf_id}": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/signing/approve": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/signing/reject": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/stages/{subject}/report": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/records/{record_no}/dispute-answer": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/bookings/{booking_id}/no-show": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/coach-change/approve": OWN_SCHOOL,
    "POST /api/school/journeys/{wf_id}/coach-change/reject": OWN_SCHOOL,
    "POST /api/school/slots": OWN_SCHOOL,
    "GET /api/school/slots": OWN_SCHOOL,
    "DELETE /api/school/slots/{slot_id}": OWN_SCHOOL,
    "POST /api/school/coaches/{coach_id}/leave": OWN_SCHOOL,
    "GET /api/school/reviews": OWN_SCHOOL,
    "POST /api/school/reviews/{review_id}/reply": OWN_SCHOOL,
    "PUT /api/school/reviews/{review_id}/reply": OWN_SCHOOL,
    "GET /api/school/consultations": OWN_SCHOOL,
    "POST /api/school/consultations/{consultation_id}/answer": OWN_SCHOOL,
    "GET /api/school/complaints": OWN_SCHOOL,
    "GET /api/school/complaints/{complaint_id}": OWN_SCHOOL,
    "POST /api/school/complaints/{complaint_id}/answer": OWN_SCHOOL,
    # ---- governance port
    "GET /api/gov/journeys": OWN_REGION,
    "GET /api/gov/journeys/{wf_id}": OWN_REGION,
    "POST /api/gov/journeys/{wf_id}/stages/{subject}/report/approve": OWN_REGION,
    "POST /api/gov/journeys/{wf_id}/stages/{subject}/report/reject": OWN_REGION,
    "POST /api/gov/journeys/{wf_id}/records/{record_no}/dispute-ruling": OWN_REGION,
    "GET /api/gov/disputes": OWN_REGION,
    "GET /api/gov/index/ranking": OWN_REGION,
    "GET /api/gov/index/history": OWN_REGION,
    "GET /api/gov/index/items/{measure}": OWN_REGION,
    "GET /api/gov/index/schools/{school_id}/breakdown": OWN_REGION,
    "POST /api/gov/index/publications": OWN_REGION,
    "GET /api/gov/penalties": OWN_REGION,
    "GET /api/gov/reviews": OWN_REGION,
    "GET /api/gov/reviews/{review_id}": OWN_REGION,
    "POST /api/gov/reviews/{review_id}/hide": OWN_REGION,
    "POST /api/gov/reviews/{review_id}/show": OWN_REGION,
    "GET /api/gov/consultations/overdue": OWN_REGION,
    "GET /api/gov/complaints": OWN_REGION,
    "GET /api/gov/complaints/{complaint_id}": OWN_REGION,
    # ---- ops
    "GET /api/ops/stuck": OPS_PORT,
    "GET /api/ops/penalty-refusals": OPS_PORT,
    "GET /api/ops/audit": OPS_PORT,
    "POST /api/ops/journeys/{wf_id}/retry-activity": OPS_PORT,
    "POST /api/ops/journeys/{wf_id}/resend-callback": OPS_PORT,
    "POST /api/ops/journeys/{wf_id}/cancel": OPS_PORT,
    # ---- Prometheus: an ops user's token (or the scraper's own, which the matrix has not)
    "GET /metrics": OPS_PORT,
    # ---- subsystems' callbacks
    "POST /api/webhooks/bank": SIGNED,
    "POST /api/webhooks/health": SIGNED,
    "POST /api/webhooks/timing": SIGNED,
    "POST /api/webhooks/exam": SIGNED,
    "POST /api/webhooks/complaints": SIGNED,
    "POST /api/webhooks/enforcement": SIGNED,
}
