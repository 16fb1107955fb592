"""Attribution: the orders, units and revenue a note drove (buyers who came from it, paid or later,
refunds excluded), for its author and for the brands whose stores sold after it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from shop import selectors_orders as selectors
from shop.api.orders_serializers import MONEY


class DrivenOut(serializers.Serializer):
    orders = serializers.IntegerField(help_text="Orders paid or later (refunded ones excluded).")
    units = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY, help_text="Line totals, before shipping and discounts.")
    currency = serializers.CharField(default="CNY")


class AttributionOut(DrivenOut):
    note = serializers.IntegerField(source="note_id")


class AttributedNoteOut(DrivenOut):
    note = serializers.IntegerField(source="pk")
    title = serializers.CharField()


class NoteAttributionView(APIView):
    """What a note sold: the whole of it for its author; a brand owner sees their own stores'
    share. Anyone else gets a 404."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AttributionOut)
    def get(self, request, note_id):
        return Response(AttributionOut(selectors.note_attribution(note_id=note_id, viewer=request.user)).data)


class AttributedNotesView(generics.ListAPIView):
    """Your notes that drove sales, newest note first, with what each sold."""

    permission_classes = [IsAuthenticated]
    serializer_class = AttributedNoteOut

    def get_queryset(self):
        return selectors.notes_attributed(author=self.request.user)
