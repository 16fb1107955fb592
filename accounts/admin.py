from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.choices import ReviewStatus
from accounts.models import Block, Brand, Follow, FollowRequest, KolCertification, Notification, User
from config.errors import DomainError


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "nickname",
        "email",
        "is_kol_certified",
        "is_private",
        "follower_count",
        "note_count",
        "is_active",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_kol_certified", "is_private", "is_active", "is_staff", "gender", "groups")
    search_fields = ("username", "nickname", "email", "city")
    readonly_fields = (*User.COUNTERS, "is_kol_certified")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            "Profile",
            {"fields": ("nickname", "avatar", "bio", "gender", "birthday", "city", "interests")},
        ),
        (
            "Privacy",
            {"fields": ("is_private", "hide_collects", "comment_permission", "mention_permission")},
        ),
        (
            "Standing (maintained by the app)",
            {"fields": ("is_kol_certified", *User.COUNTERS)},
        ),
    )


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("id", "follower", "followee", "created_at")
    search_fields = ("follower__username", "followee__username")
    autocomplete_fields = ("follower", "followee")
    date_hierarchy = "created_at"
    list_select_related = ("follower", "followee")


@admin.register(FollowRequest)
class FollowRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "requester", "target", "created_at")
    search_fields = ("requester__username", "target__username")
    autocomplete_fields = ("requester", "target")
    list_select_related = ("requester", "target")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("id", "blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    autocomplete_fields = ("blocker", "blocked")
    list_select_related = ("blocker", "blocked")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "recipient", "verb", "actor", "target_type", "target_id", "created_at", "read_at")
    list_filter = ("verb", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient__username", "actor__username")
    autocomplete_fields = ("recipient", "actor")
    list_select_related = ("recipient", "actor")
    date_hierarchy = "created_at"


class ReviewAdmin(admin.ModelAdmin):
    """Shared approve/reject actions for applications reviewed by moderators."""

    review_service = None
    object_kwarg = ""

    def _decide(self, request, queryset, *, approve: bool):
        done = 0
        for obj in queryset.filter(status=ReviewStatus.PENDING):
            try:
                type(self).review_service(**{self.object_kwarg: obj}, reviewer=request.user, approve=approve)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.WARNING)
        verb = "approved" if approve else "rejected"
        self.message_user(request, f"{done} application(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected pending applications")
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject selected pending applications")
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)

    actions = ("approve", "reject")


@admin.register(KolCertification)
class KolCertificationAdmin(ReviewAdmin):
    review_service = services.certification_review
    object_kwarg = "certification"
    list_display = ("user", "real_name", "category", "status", "created_at", "reviewed_by", "reviewed_at")
    list_filter = ("status", "category")
    search_fields = ("user__username", "real_name")
    autocomplete_fields = ("user",)
    readonly_fields = ("status", "reviewed_by", "reviewed_at", "created_at", "updated_at")
    list_select_related = ("user", "reviewed_by")


@admin.register(Brand)
class BrandAdmin(ReviewAdmin):
    review_service = services.brand_review
    object_kwarg = "brand"
    list_display = ("name", "slug", "owner", "status", "created_at", "reviewed_by")
    list_filter = ("status",)
    search_fields = ("name", "slug", "owner__username", "business_license")
    autocomplete_fields = ("owner",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("status", "reviewed_by", "reviewed_at", "created_at")
    list_select_related = ("owner", "reviewed_by")
