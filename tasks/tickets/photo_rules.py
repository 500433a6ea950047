"""A ticket's photos: who may add one and see them, and their place in the ticket's record.

The photos sub-package knows a ticket only by its id; it asks these rules (installed at start-up by
`bootstrap.provide`), so that photos import nothing of tickets while tickets link photos.
"""

from kernel.clock import utcnow
from kernel.errors import ConflictError, ForbiddenError
from kernel.extensions import db
from kernel.i18n import _
from kernel.names import ticket_status
from kernel.principals import Caller
from tasks.lifecycle import Status
from tasks.tickets.actions import record_event
from tasks.tickets.models import Ticket
from tasks.tickets.visibility import Viewer, get_visible_ticket, is_supervising


class TicketPhotoRules:
    """`tasks.photos.service.TicketRules`, answered by the ticket."""

    def check_visible(self, actor: Caller, ticket_id: int) -> None:
        get_visible_ticket(actor, ticket_id)

    def check_takes_photo(self, actor: Caller, ticket_id: int) -> None:
        """For its assignee, or an admin or supervisor whose scope covers it; while the ticket is not done."""
        viewer = Viewer.of(actor)
        ticket = get_visible_ticket(actor, ticket_id, viewer)
        if ticket.assignee_id != actor.id and not is_supervising(actor, ticket, viewer):
            raise ForbiddenError(
                _("Only the ticket's assignee or a supervisor over it may add photos."),
                {"ticket_id": [_("not yours to handle")]},
            )
        # Photos document open or resolved work; a closed or cancelled ticket's record is complete.
        if ticket.status in (Status.CLOSED, Status.CANCELLED):
            raise ConflictError(
                _("A ticket that is %(status)s takes no more photos.", status=ticket_status(ticket.status)),
                {"status": ticket.status.value},
            )

    def photo_added(self, actor: Caller, ticket_id: int, attachment_id: int) -> None:
        """A photo added to a ticket is part of its record: an event, and a change for delta sync."""
        ticket = db.session.get(Ticket, ticket_id)  # the one `check_takes_photo` loaded, from the session
        assert ticket is not None
        ticket.updated_at = utcnow()
        record_event(ticket, actor, "photo", ticket.status, photo_ids=[attachment_id])
        db.session.flush()  # a lost version check here is the kernel's 409 conflict
