import re

from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination
from rest_framework.request import Request

_WHOLE_NUMBER = re.compile(r"[0-9]+")


class Pagination(pagination.PageNumberPagination):
    """Pages of 50 by default, `page_size` up to 500. A `page_size` that is not a whole
    number of at least 1 is refused (DRF's own would quietly use the default instead); one
    above 500 gets 500, as the schema says."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size  # absent or empty: the default, like every parameter
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("A whole number of at least 1.")]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: object) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = _(
                    "Results per page: 50 unless given, at most %(max)s (more gets %(max)s)."
                ) % {"max": self.max_page_size}
            elif parameter["name"] == self.page_query_param:
                parameter["description"] = _(
                    "A page number, from 1 (or `last`); a page past the last one is 404."
                )
        return parameters
