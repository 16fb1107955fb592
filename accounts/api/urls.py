from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("me/notifications", views.MyNotificationsView.as_view(), name="me-notifications"),
    path("me/notifications/read", views.MyNotificationsReadView.as_view(), name="me-notifications-read"),
    path("me/follow-requests", views.MyFollowRequestsView.as_view(), name="me-follow-requests"),
    path(
        "me/follow-requests/<text:username>/approve",
        views.FollowRequestDecisionView.as_view(approve=True),
        name="me-follow-request-approve",
    ),
    path(
        "me/follow-requests/<text:username>/reject",
        views.FollowRequestDecisionView.as_view(approve=False),
        name="me-follow-request-reject",
    ),
    path("me/blocks", views.MyBlocksView.as_view(), name="me-blocks"),
    path("me/brands", views.MyBrandsView.as_view(), name="me-brands"),
    path("users/<text:username>", views.UserDetailView.as_view(), name="user-detail"),
    path("users/<text:username>/followers", views.UserFollowersView.as_view(), name="user-followers"),
    path("users/<text:username>/following", views.UserFollowingView.as_view(), name="user-following"),
    path("users/<text:username>/follow", views.UserFollowView.as_view(), name="user-follow"),
    path("users/<text:username>/block", views.UserBlockView.as_view(), name="user-block"),
    path("creator/certification", views.CertificationView.as_view(), name="creator-certification"),
    path("brands", views.BrandListView.as_view(), name="brands"),
    path("brands/<slug:slug>", views.BrandDetailView.as_view(), name="brand-detail"),
]
