"""The signals of an order's lifecycle, each sent once the change it announces is committed.

`asyncrest.lifecycle` moves orders and sends these (its one other call is handing a newly
placed order to its queue). Long polls (`asyncrest.broker.pubsub`) and webhooks
(`asyncrest.webhooks`) are receivers, and so can be a project's own code: connect with
`@receiver(order_finished)`.

Both are sent with `sender=Order` and the keyword arguments `order_id` (a UUID) and
`status` (the order's status after the change); a batch's writes also pass what they
already know, `callback_url` (`""` when the order has none). Receivers take `**kwargs`.
"""
from django.dispatch import Signal

#: Every committed change of what an order shows: its status, progress, processed/total or message.
order_changed = Signal()

#: An order reached `completed`, `failed` or `cancelled` (sent after its `order_changed`).
order_finished = Signal()
