"""The outbox: every message owed (SMS, inbox, webhook), written in the same transaction as the change that owes
it, what each says, and the admins' and accounts' views of it. Delivery is `notifications.delivery`'s business."""
