"""Every API list is paginated: `?page=N&page_size=M` (at most 200 a page), answered as
{"count", "next", "previous", "results"}, so no request can ask for a whole table at once."""
from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
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


def paginated_list_schema(item_serializer: type[serializers.Serializer], operation_id: str):
    """The OpenAPI description of a `paginated_response` list of `item_serializer`: the page envelope and
    its query parameters, which drf-spectacular cannot infer from a plain APIView (nor, without a
    many=True serializer, that it is a list: hence the explicit `operation_id`)."""
    name = item_serializer.__name__.removesuffix("Serializer").removesuffix("Output")
    page = inline_serializer(name=f"Paginated{name}List", fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item_serializer(many=True),
    })
    parameters = [
        OpenApiParameter("page", OpenApiTypes.INT, description="page number, from 1"),
        OpenApiParameter("page_size", OpenApiTypes.INT,
                         description=f"items a page (default {ApiPagination.page_size}, "
                                     f"at most {ApiPagination.max_page_size})"),
    ]
    return extend_schema(operation_id=operation_id, responses=page, parameters=parameters)
