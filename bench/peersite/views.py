import os

from django.db import transaction
from django.shortcuts import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import PeerOrder

BACKEND = os.environ.get("PEER_BACKEND", "celery")


def dispatch(pk) -> None:
    if BACKEND == "celery":
        from .celery_app import tag_order

        tag_order.delay_on_commit(str(pk))
    else:
        import django_rq

        queue = django_rq.get_queue("peer")
        transaction.on_commit(lambda: queue.enqueue("peersite.work.tag_order", str(pk)))


class OrderCreate(APIView):
    def post(self, request):
        entry = request.data.get("entry") if isinstance(request.data, dict) else None
        if not isinstance(entry, str) or not entry.strip():
            return Response({"detail": "Send {\"entry\": \"...\"}."}, status=400)
        order = PeerOrder.objects.create(owner=request.user, entry=entry)
        dispatch(order.pk)
        return Response({"id": str(order.pk), "status": order.status}, status=202,
                        headers={"Location": f"/peer/orders/{order.pk}/"})


class OrderDetail(APIView):
    def get(self, request, pk):
        order = get_object_or_404(PeerOrder, pk=pk, owner=request.user)
        body = {"id": str(order.pk), "status": order.status}
        if order.status == "completed":
            location = f"/tagging/logs/{order.log_id}/"
            return Response({**body, "resource_url": location}, status=201, headers={"Location": location})
        if order.status == "failed":
            return Response({**body, "error": order.error})
        return Response(body, status=202, headers={"Retry-After": "1"})
