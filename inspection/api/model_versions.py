"""Model versions (training, evaluation, activation) and operating points of a product."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.api.parameters import query_id, query_number
from inspection.api.serializers import JobOutputSerializer
from inspection.engine.methods import METHOD_ALIASES, METHOD_NAMES
from inspection.errors import InvalidInput
from inspection.models import Activation, EvaluationScore, ModelVersion, ThresholdSetting
from inspection.selectors.model_versions import (
    activation_list,
    evaluation_score_list,
    model_version_get,
    model_version_list,
    model_version_operating_point,
    threshold_current_by_version,
    threshold_setting_get,
    threshold_setting_list,
)
from inspection.selectors.products import product_get
from inspection.services.model_versions import (
    DEFAULT_METHOD,
    model_version_cancel,
    model_version_create,
    model_version_retrain,
)
from inspection.services.thresholds import model_version_activate, threshold_rollback, threshold_set


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    job = JobOutputSerializer(allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_active = serializers.SerializerMethodField()
    method = serializers.CharField(source="method_name", read_only=True)

    class Meta:
        model = ModelVersion
        fields = (
            "id",
            "product",
            "number",
            "method",
            "params",
            "status",
            "is_active",
            "job",
            "progress",
            "error",
            "train_count",
            "eval_count",
            "evaluated",
            "metrics",
            "train_seconds",
            "engine_version",
            "image_shape",
            "bundle_checksum",
            "bundle_size",
            "flagged_damaged",
            "damage_reason",
            "registration_revision",
            "reference_checksum",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_is_active(self, version) -> bool:
        return version.product.active_version_id == version.pk


class EvaluationScoreOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvaluationScore
        fields = ("id", "image", "checksum", "label", "defect_type", "score")
        read_only_fields = fields


class ThresholdSettingOutputSerializer(serializers.ModelSerializer):
    set_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = ThresholdSetting
        fields = (
            "id",
            "product",
            "version",
            "version_number",
            "threshold",
            "band_lower",
            "band_upper",
            "reason",
            "expected",
            "rolled_back_from",
            "replaces",
            "set_by",
            "set_at",
        )
        read_only_fields = fields


class ActivationOutputSerializer(serializers.ModelSerializer):
    """Needs the context `operating_points`: {version id: ThresholdSetting} (threshold_current_by_version),
    read for all rows at once instead of one query per row."""

    activated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    operating_point = serializers.SerializerMethodField()
    replaced_operating_point = ThresholdSettingOutputSerializer(allow_null=True, read_only=True)

    class Meta:
        model = Activation
        fields = (
            "id",
            "product",
            "version",
            "version_number",
            "previous_version",
            "reason",
            "forced",
            "gate",
            "operating_point",
            "replaced_operating_point",
            "activated_by",
            "activated_at",
        )
        read_only_fields = fields

    @extend_schema_field(ThresholdSettingOutputSerializer(allow_null=True))
    def get_operating_point(self, activation):
        # Activations recorded before they named their operating point show the version's current one.
        setting = activation.operating_point or self.context["operating_points"].get(activation.version_id)
        return ThresholdSettingOutputSerializer(setting).data if setting else None


class OperatingPointOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    evaluated = serializers.BooleanField()
    curves = serializers.JSONField(
        help_text="roc {fpr, tpr, thresholds}, pr {precision, recall, thresholds}, histogram {edges, normal, defective}"
    )
    metrics = serializers.JSONField()
    suggestions = serializers.JSONField(
        help_text="Suggested operating points by name (max-f1, escape-budget, "
        "false-call-budget, review-band, normal-quantile), each placed mid-gap "
        "between observed scores, with what it does, margin, intervals, warnings"
    )
    proposed = serializers.JSONField(
        allow_null=True,
        help_text="What the proposed threshold or band does on the "
        "evaluation images: confusion, precision, recall, f1, false_call_rate, decisions, "
        "margin (distance to the nearest defective and normal score, also relative to "
        "the normal scores' standard deviation), intervals (exact bootstrap 95 % and "
        "Wilson 95 % of recall and false-call rate) and warnings when images are few",
    )


def _activation_context(activations) -> dict:
    return {"operating_points": threshold_current_by_version(version_ids={item.version_id for item in activations})}


def _version_output(version, request):
    return ModelVersionOutputSerializer(version, context={"request": request}).data


class ModelVersionListCreateApi(APIView):
    class ModelVersionCreateInputSerializer(serializers.Serializer):
        # Former names (nn) are still accepted; the version is stored under the current name.
        method = serializers.ChoiceField(choices=METHOD_NAMES + tuple(METHOD_ALIASES), default=DEFAULT_METHOD)
        params = serializers.JSONField(
            required=False, default=dict, help_text='Hyper-parameters of the method, e.g. {"epochs": 6}.'
        )

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=ModelVersion.Status.values)],
        responses=ModelVersionOutputSerializer(many=True),
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        versions = model_version_list(product=product, status=request.query_params.get("status"))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(versions, request, view=self)
        return paginator.get_paginated_response(ModelVersionOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ModelVersionCreateInputSerializer,
        responses={202: ModelVersionOutputSerializer, 409: None},
        description="Freeze the data set and start training; 409 while another training of the "
        "product is queued or running.",
    )
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ModelVersionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_create(product=product, created_by=request.user, **serializer.validated_data)
        return Response(
            _version_output(model_version_get(product=product, version_id=version.pk), request),
            status=status.HTTP_202_ACCEPTED,
        )


class ProductRetrainApi(APIView):
    """Train a new version on the data set as it now stands, with the active version's method and parameters."""

    @extend_schema(request=None, responses={202: ModelVersionOutputSerializer, 409: None})
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        version = model_version_retrain(product=product, created_by=request.user)
        return Response(
            _version_output(model_version_get(product=product, version_id=version.pk), request),
            status=status.HTTP_202_ACCEPTED,
        )


class ModelVersionDetailApi(APIView):
    @extend_schema(responses=ModelVersionOutputSerializer)
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        return Response(_version_output(version, request))


class ModelVersionCancelApi(APIView):
    """Stop a queued or running training (within one epoch); the version ends cancelled."""

    @extend_schema(request=None, responses={202: ModelVersionOutputSerializer, 409: None})
    def post(self, request, product_id: int, version_id: int):
        product = product_get(product_id=product_id)
        version = model_version_cancel(version=model_version_get(product=product, version_id=version_id))
        return Response(_version_output(version, request), status=status.HTTP_202_ACCEPTED)


class ModelVersionEvaluationApi(APIView):
    """The version's score for each labelled evaluation image, highest first."""

    @extend_schema(responses=EvaluationScoreOutputSerializer(many=True))
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(evaluation_score_list(version=version), request, view=self)
        return paginator.get_paginated_response(EvaluationScoreOutputSerializer(page, many=True).data)


class ModelVersionOperatingPointApi(APIView):
    """Curves of the version and, for a proposed threshold or band, its effect on the evaluation images."""

    @extend_schema(
        parameters=[
            OpenApiParameter("threshold", float),
            OpenApiParameter("band_lower", float),
            OpenApiParameter("band_upper", float),
        ],
        responses=OperatingPointOutputSerializer,
    )
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        result = model_version_operating_point(
            version=version,
            threshold=query_number(request, "threshold"),
            band_lower=query_number(request, "band_lower"),
            band_upper=query_number(request, "band_upper"),
        )
        return Response(OperatingPointOutputSerializer(result).data)


class ModelVersionActivateApi(APIView):
    """Make the version the product's active one at the operating point named; the response carries the gate's report.

    Without operating_point or reason the answer is 400 with `choices`: the
    version's saved point, each suggestion rule with what it does on the
    evaluation images (rates, intervals, margin), and the explicit forms.
    """

    class ActivateInputSerializer(serializers.Serializer):
        operating_point = serializers.JSONField(
            required=False,
            default=None,
            help_text='"saved", a suggestion rule ("max-f1", "escape-budget", "false-call-budget", "review-band", '
            '"normal-quantile"), or {"threshold": t} or {"band_lower": a, "band_upper": b}.',
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="")
        force = serializers.BooleanField(
            required=False, default=False, help_text="Activate a version that was not evaluated."
        )

    @extend_schema(request=ActivateInputSerializer, responses={200: ActivationOutputSerializer, 400: None, 409: None})
    def post(self, request, product_id: int, version_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ActivateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_get(product=product, version_id=version_id)
        activation = model_version_activate(version=version, activated_by=request.user, **serializer.validated_data)
        return Response(ActivationOutputSerializer(activation, context=_activation_context([activation])).data)


class ActivationListApi(APIView):
    @extend_schema(responses=ActivationOutputSerializer(many=True))
    def get(self, request, product_id: int):
        activations = activation_list(product=product_get(product_id=product_id))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(activations, request, view=self)
        output = ActivationOutputSerializer(page, many=True, context=_activation_context(page))
        return paginator.get_paginated_response(output.data)


class ThresholdListCreateApi(APIView):
    """The history of operating points; setting one records who, when, why and on which version."""

    class ThresholdSetInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(
            required=False, help_text="Version whose evaluation it is based on (default: the active one)."
        )
        threshold = serializers.FloatField(required=False, allow_null=True, default=None)
        band_lower = serializers.FloatField(required=False, allow_null=True, default=None)
        band_upper = serializers.FloatField(required=False, allow_null=True, default=None)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses=ThresholdSettingOutputSerializer(many=True))
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        version_id = query_id(request, "version", what="a version id")
        version = None
        if version_id is not None:
            version = model_version_get(product=product, version_id=version_id)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(threshold_setting_list(product=product, version=version), request, view=self)
        return paginator.get_paginated_response(ThresholdSettingOutputSerializer(page, many=True).data)

    @extend_schema(request=ThresholdSetInputSerializer, responses={201: ThresholdSettingOutputSerializer})
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ThresholdSetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version_id = data.pop("version", None)
        if version_id is None:
            if product.active_version is None:
                raise InvalidInput("Name the version the threshold is based on; the product has no active version.")
            version = product.active_version
        else:
            version = model_version_get(product=product, version_id=version_id)
        setting = threshold_set(product=product, version=version, set_by=request.user, **data)
        return Response(ThresholdSettingOutputSerializer(setting).data, status=status.HTTP_201_CREATED)


class ThresholdRollbackApi(APIView):
    """Make an earlier operating point current again (recorded as a new setting)."""

    class ThresholdRollbackInputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=ThresholdRollbackInputSerializer, responses={201: ThresholdSettingOutputSerializer})
    def post(self, request, product_id: int, setting_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ThresholdRollbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        setting = threshold_rollback(
            product=product,
            setting=threshold_setting_get(product=product, setting_id=setting_id),
            set_by=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(ThresholdSettingOutputSerializer(setting).data, status=status.HTTP_201_CREATED)
