from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import StrictSerializer
from notes.choices import ReportReason, ReportStatus, ReportTarget
from notes.services import reports


class ReportIn(StrictSerializer):
    target_type = serializers.ChoiceField(choices=ReportTarget.choices)
    target_id = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    detail = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    target_type = serializers.ChoiceField(choices=ReportTarget.choices)
    target_id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    created_at = serializers.DateTimeField()


class ReportCreateView(APIView):
    """Report a note, comment or user you can see. Reporting the same thing again while your
    report is open returns it unchanged (200 instead of 201)."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "report"

    @extend_schema(request=ReportIn, responses={201: ReportOut, 200: ReportOut})
    def post(self, request):
        data = ReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = reports.report_create(reporter=request.user, **data.validated_data)
        return Response(ReportOut(result.report).data, status=201 if result.created else 200)
