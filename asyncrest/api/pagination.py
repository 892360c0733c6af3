"""The pagination of order lists: page numbers, `PAGE_SIZE` orders a page (the engine's own, not the host's)."""
from rest_framework.pagination import PageNumberPagination

from .. import conf


class OrderPagination(PageNumberPagination):
    """`?page=N`; `?page_size=` up to `MAX_PAGE_SIZE`."""

    page_size_query_param = "page_size"

    def get_page_size(self, request):
        self.page_size = conf.get("PAGE_SIZE")
        self.max_page_size = conf.get("MAX_PAGE_SIZE")
        return super().get_page_size(request)
