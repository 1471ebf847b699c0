"""Every API list is paginated: `?page=N&page_size=M` (at most 200 a page), answered as
{"count", "next", "previous", "results"}, so no request can ask for a whole table at once."""
from collections.abc import Callable

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated_response(view, items, serialize: Callable[[list], list]) -> Response:
    """One page of `items` (an ordered queryset), serialized by `serialize(page_items)`."""
    paginator = ApiPagination()
    page = paginator.paginate_queryset(items, view.request, view=view)
    return paginator.get_paginated_response(serialize(page))
