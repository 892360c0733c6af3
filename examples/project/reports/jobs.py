import time

from rest_framework import serializers

from asyncrest import ProgressItems, register


class ReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField(min_value=1, max_value=10_000)


@register("reports", serializer=ReportSerializer, timeout=300)
def build_report(order):
    with ProgressItems(order, range(order.input["rows"]), message="Counting rows") as rows:
        for row in rows:
            time.sleep(0.01)  # the slow work goes here
    return f"/reports/{order.id}/"
