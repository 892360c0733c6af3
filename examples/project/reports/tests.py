from django.contrib.auth import get_user_model
from django.test import TestCase

from asyncrest.testing import place_order, run_order_now


class BuildReportTests(TestCase):
    def test_the_report_is_built(self):
        user = get_user_model().objects.create_user("ann")
        order = run_order_now(place_order(user, "reports", {"rows": 3}))
        self.assertEqual(order.status, "completed")
        self.assertEqual(order.resource_url, f"/reports/{order.id}/")
