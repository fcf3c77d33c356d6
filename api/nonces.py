"""Each callback's nonce is taken once: a replayed delivery, even within the signature's time
window, is refused. A nonce is kept only as long as its signed timestamp could be accepted;
each new one prunes those whose window has passed."""

import logging
import time

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, delete

from core.signing import MAX_SKEW_SECONDS
from models.webhooks import WebhookNonce

log = logging.getLogger("xuejia.api")


def take(session: Session, subsystem: str, nonce: str, timestamp: int) -> bool:
    """Stores the nonce and commits; False if it was taken before."""
    session.exec(delete(WebhookNonce).where(col(WebhookNonce.expires_at) < int(time.time())))
    expires_at = timestamp + MAX_SKEW_SECONDS
    session.add(WebhookNonce(subsystem=subsystem, nonce=nonce, expires_at=expires_at))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def give_back(session: Session, subsystem: str, nonce: str) -> None:
    """The platform failed to handle the callback (Temporal unavailable, say): the nonce is
    freed, so the subsystem sending the very same delivery again is not refused."""
    try:
        session.rollback()
        session.exec(
            delete(WebhookNonce).where(
                col(WebhookNonce.subsystem) == subsystem, col(WebhookNonce.nonce) == nonce
            )
        )
        session.commit()
    except SQLAlchemyError:
        # The database is down too: the same delivery is then refused, a new one is not.
        log.warning("could not free nonce of a failed %s callback", subsystem, exc_info=True)
