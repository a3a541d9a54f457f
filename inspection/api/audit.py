"""GET /api/audit/: the audit log, newest first, paged, filtered by product, user, action and time range."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.selectors.audit import ACTIONS, audit_entry_list, audit_entry_summary


class AuditEntryListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        product = serializers.IntegerField(required=False, min_value=1)
        user = serializers.CharField(required=False, max_length=150)
        action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

        def validate(self, data):
            if data.get("since") and data.get("until") and data["since"] >= data["until"]:
                raise serializers.ValidationError({"until": "until must be later than since."})
            return data

    class EntrySerializer(serializers.Serializer):
        id = serializers.IntegerField()
        timestamp = serializers.DateTimeField()
        actor = serializers.CharField(allow_null=True)
        action = serializers.CharField()
        object_type = serializers.CharField(allow_null=True)
        object_id = serializers.CharField()
        object = serializers.CharField()
        product_id = serializers.IntegerField(allow_null=True)
        changes = serializers.DictField()
        details = serializers.DictField()
        deleted_copy = serializers.DictField(allow_null=True)
        remote_addr = serializers.CharField(allow_null=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("product", int),
            OpenApiParameter("user", str, description="user name of the actor (or of a failed sign-in)"),
            OpenApiParameter("action", enum=sorted(ACTIONS)),
            OpenApiParameter("since", str, description="ISO 8601 time, inclusive"),
            OpenApiParameter("until", str, description="ISO 8601 time, exclusive"),
        ],
        responses=EntrySerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        entries = audit_entry_list(
            product_id=values.get("product"),
            username=values.get("user"),
            action=values.get("action"),
            since=values.get("since"),
            until=values.get("until"),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        summaries = [audit_entry_summary(entry) for entry in page]
        return paginator.get_paginated_response(self.EntrySerializer(summaries, many=True).data)
