"""The signals of an order's lifecycle, each sent once the change it announces is committed.

`asyncrest.lifecycle` moves orders and sends these (its one other call is handing a newly
placed order to its queue). Long polls (`asyncrest.broker.pubsub`) and webhooks
(`asyncrest.webhooks`) are receivers, and so can be a project's own code: connect with
`@receiver(order_finished)`.

`worker_started` is the worker's own: sent once by each worker process (`Worker`,
`ForkingWorker`) after it registers and before it takes its first job, with the worker's
class as `sender` and `worker=` the worker. A resource loads there what every job needs
(a model, a gazetteer), so that no order waits for it; a forking worker's horses inherit
it. A receiver that raises is logged, and the worker starts all the same.

The order signals are sent with `sender=Order` and the keyword arguments `order_id` (a UUID) and
`status` (the order's status after the change); a batch's writes also pass what they
already know, `callback_url` (`""` when the order has none). Receivers take `**kwargs`.
"""
from django.dispatch import Signal

#: Every committed change of what an order shows: its status, progress, processed/total or message.
order_changed = Signal()

#: An order reached `completed`, `failed` or `cancelled` (sent after its `order_changed`).
order_finished = Signal()

#: A worker process has started and is about to take its first job (sent by `ReconcilingMixin`).
worker_started = Signal()
