"""The outbox: actions on trackers (and e-mail, outbound webhooks), written with the change that caused them."""

from service.outbox.queue import enqueue

__all__ = ["enqueue"]
