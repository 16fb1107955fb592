from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api import serializers as s
from accounts.models import User
from config.api.pagination import CursorPagination


class MeView(APIView):
    """Your own profile. PATCH takes JSON, or multipart when it carries an ``avatar`` file."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    user_copy = False  # it shows the user's counters, which a copy may lag (accounts.usercache)

    @extend_schema(responses=s.MeOut)
    def get(self, request):
        return Response(s.MeOut(request.user, context={"request": request}).data)

    @extend_schema(request=s.MeIn, responses=s.MeOut)
    def patch(self, request):
        data = s.MeIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        avatar = fields.pop("avatar", None)
        user = services.user_update_profile(user=request.user, data=fields, avatar=avatar)
        return Response(s.MeOut(user, context={"request": request}).data)


class UserDetailView(APIView):
    @extend_schema(responses=s.ProfileOut)
    def get(self, request, username):
        user = selectors.user_get_visible(username=username, viewer=request.user)
        return Response(s.ProfileOut(user, context={"request": request}).data)


class RelationListView(generics.ListAPIView):
    """A paginated list of users reached through relation rows (follows, requests, blocks)."""

    serializer_class = s.UserSummaryOut
    user_field = ""

    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.get_queryset())
        users = selectors.users_from_relations(rows, user_field=self.user_field)
        return self.get_paginated_response(self.get_serializer(users, many=True).data)


class UserFollowersView(RelationListView):
    user_field = "follower"

    def get_queryset(self):
        user = selectors.user_get_visible(username=self.kwargs["username"], viewer=self.request.user)
        return selectors.user_followers(user=user, viewer=self.request.user)


class UserFollowingView(RelationListView):
    user_field = "followee"

    def get_queryset(self):
        user = selectors.user_get_visible(username=self.kwargs["username"], viewer=self.request.user)
        return selectors.user_following(user=user, viewer=self.request.user)


class MyFollowRequestsView(RelationListView):
    """People asking to follow your private account."""

    permission_classes = [IsAuthenticated]
    user_field = "requester"

    def get_queryset(self):
        return selectors.follow_requests_received(user=self.request.user)


class MyBlocksView(RelationListView):
    permission_classes = [IsAuthenticated]
    user_field = "blocked"

    def get_queryset(self):
        return selectors.user_blocked_list(user=self.request.user)


def _follow_state(result: services.FollowResult, followee: User) -> dict:
    followee.refresh_from_db(fields=["follower_count"])
    return {"state": result.state, "changed": result.changed, "follower_count": followee.follower_count}


class UserFollowView(APIView):
    """Follow (or ask to follow a private account) and unfollow. Both are idempotent."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "follow"

    @extend_schema(request=None, responses=s.FollowStateOut)
    def post(self, request, username):
        followee = selectors.user_get_visible(username=username, viewer=request.user)
        result = services.follow_create(follower=request.user, followee=followee)
        return Response(s.FollowStateOut(_follow_state(result, followee)).data)

    @extend_schema(request=None, responses={200: s.FollowStateOut})
    def delete(self, request, username):
        followee = selectors.user_get_visible(username=username, viewer=request.user)
        result = services.follow_delete(follower=request.user, followee=followee)
        return Response(s.FollowStateOut(_follow_state(result, followee)).data)


class UserBlockView(APIView):
    permission_classes = [IsAuthenticated]

    def _target(self, request, username) -> User:
        # Blocking works on users you can no longer see (you blocked them), so no visibility filter.
        return generics.get_object_or_404(User.objects.filter(is_active=True), username=username)

    @extend_schema(request=None, responses=s.BlockStateOut)
    def post(self, request, username):
        changed = services.block_create(blocker=request.user, blocked=self._target(request, username))
        return Response(s.BlockStateOut({"blocked": True, "changed": changed}).data)

    @extend_schema(request=None, responses={200: s.BlockStateOut})
    def delete(self, request, username):
        changed = services.block_delete(blocker=request.user, blocked=self._target(request, username))
        return Response(s.BlockStateOut({"blocked": False, "changed": changed}).data)


class FollowRequestDecisionView(APIView):
    permission_classes = [IsAuthenticated]
    approve = True

    @extend_schema(request=None, responses={204: None})
    def post(self, request, username):
        requester = generics.get_object_or_404(User, username=username)
        if self.approve:
            services.follow_request_approve(target=request.user, requester=requester)
        else:
            services.follow_request_reject(target=request.user, requester=requester)
        return Response(status=204)


class NotificationPagination(CursorPagination):
    """Notification pages also carry the unread count, so the badge needs no second call."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["unread_count"] = selectors.notifications_unread_count(user=self.request.user)
        return response

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["unread_count"] = {"type": "integer"}
        out["required"].append("unread_count")
        return out


class MyNotificationsView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.NotificationOut
    pagination_class = NotificationPagination

    def get_queryset(self):
        return selectors.notifications_for(user=self.request.user)


class MyNotificationsReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.NotificationsReadIn, responses=s.NotificationsReadOut)
    def post(self, request):
        data = s.NotificationsReadIn(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        unread = selectors.notifications_unread_count(user=request.user)
        return Response(s.NotificationsReadOut({"marked": marked, "unread_count": unread}).data)


class CertificationView(APIView):
    """Apply to become a certified KOL, and follow your application's status."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.CertificationOut)
    def get(self, request):
        return Response(s.CertificationOut(selectors.certification_for(user=request.user)).data)

    @extend_schema(request=s.CertificationIn, responses={201: s.CertificationOut})
    def post(self, request):
        data = s.CertificationIn(data=request.data)
        data.is_valid(raise_exception=True)
        certification = services.certification_apply(user=request.user, **data.validated_data)
        return Response(s.CertificationOut(certification).data, status=201)


class BrandListView(generics.ListCreateAPIView):
    """Approved brands; POST applies for a new brand account (reviewed by moderators)."""

    serializer_class = s.BrandOut

    def get_queryset(self):
        return selectors.brands_public()

    @extend_schema(request=s.BrandIn, responses={201: s.BrandOwnerOut})
    def post(self, request):
        data = s.BrandIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = services.brand_apply(owner=request.user, **data.validated_data)
        return Response(s.BrandOwnerOut(brand).data, status=201)


class MyBrandsView(generics.ListAPIView):
    """Your brand applications and accounts, whatever their status."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.BrandOwnerOut

    def get_queryset(self):
        return selectors.brands_owned_by(user=self.request.user)


class BrandDetailView(APIView):
    """A brand page. Its owner (and staff) also see the registration and review details."""

    @extend_schema(responses=s.BrandPageOut)
    def get(self, request, slug):
        brand = selectors.brand_get_visible(slug=slug, viewer=request.user)
        is_owner = request.user.is_authenticated and (
            request.user.pk == brand.owner_id or request.user.is_staff
        )
        out = s.BrandOwnerOut if is_owner else s.BrandOut
        return Response(out(brand).data)
