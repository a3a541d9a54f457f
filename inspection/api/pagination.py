from rest_framework.pagination import PageNumberPagination

from inspection.api.parameters import query_id


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        # DRF answers a page that is not a number with 404 and ignores a bad
        # page size; a malformed request deserves a 400 that says why.
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            query_id(request, self.page_query_param, what="a page number")
        query_id(request, self.page_size_query_param, what="the number of results per page")
        return super().paginate_queryset(queryset, request, view=view)
