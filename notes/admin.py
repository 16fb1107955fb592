from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from config.errors import DomainError
from notes.choices import NoteStatus, ReportStatus, ReportTarget
from notes.feeds import services as feed_services
from notes.models import (
    Board,
    Comment,
    HotSearch,
    Media,
    Note,
    NoteCollect,
    NoteLike,
    NoteMedia,
    NoteRevision,
    NoteShare,
    Report,
    Topic,
    TopicHeat,
)
from notes.services import boards as board_services
from notes.services import comments as comment_services
from notes.services import media as media_services
from notes.services import reports as report_services
from notes.services.notes import note_moderate

LIMITED_REACH = 0.2

# --- Media ----------------------------------------------------------------------------------


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    """Uploaded images and videos. Read-only: uploads come through the API, and processing decides
    the rest; moderators can only send failed media through processing again."""

    list_display = ("id", "kind", "status", "owner", "size_bytes", "mime_type", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("owner",)
    search_fields = ("owner__username",)
    autocomplete_fields = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ("reprocess",)
    readonly_fields = (
        "kind",
        "status",
        "failure_reason",
        "original",
        "mime_type",
        "size_bytes",
        "width",
        "height",
        "dominant_color",
        "duration_seconds",
        "variants",
        "variant_links",
        "created_at",
        "processed_at",
    )

    def has_add_permission(self, request):
        return False

    @admin.display(description="variant files")
    def variant_links(self, media):
        storage = media.original.storage
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            ((storage.url(name), variant) for variant, name in (media.variants or {}).items()),
        )

    @admin.action(description="Reprocess failed media")
    def reprocess(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        count = media_services.media_reprocess(media_ids=selected)
        skipped = len(selected) - count
        self.message_user(request, f"{count} failed media queued for processing again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} were not failed and were left alone.", messages.WARNING)


# --- Notes, topics and interactions ------------------------------------------------------------


class NoteMediaInline(admin.TabularInline):
    model = NoteMedia
    extra = 0
    autocomplete_fields = ("media",)
    fields = ("position", "media", "media_status")
    readonly_fields = ("media_status",)

    @admin.display(description="status")
    def media_status(self, obj):
        return obj.media.status if obj.media_id else "-"


class NoteRevisionInline(admin.TabularInline):
    model = NoteRevision
    extra = 0
    can_delete = False
    fields = ("created_at", "title", "body")
    readonly_fields = fields


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "author",
        "kind",
        "category",
        "status",
        "visibility",
        "like_count",
        "collect_count",
        "comment_count",
        "published_at",
        "deleted_at",
    )
    list_filter = ("status", "category", "visibility", "kind", "ai_assisted", "published_at", "created_at")
    search_fields = ("title", "body", "author__username", "author__nickname")
    autocomplete_fields = ("author", "cover", "pinned_comment")
    date_hierarchy = "created_at"
    list_select_related = ("author",)
    inlines = (NoteMediaInline, NoteRevisionInline)
    # What only a service may change: the state (the moderation actions hide and restore), and what
    # a review is of and its badge (the shop recounts both products and moves the order line).
    readonly_fields = (
        "author",
        "status",
        "visibility",
        "product",
        "rating",
        "is_verified_purchase",
        "like_count",
        "collect_count",
        "comment_count",
        "share_count",
        "published_at",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    actions = ("hide_notes", "restore_notes", "limit_reach", "restore_reach")

    def _moderate(self, request, queryset, *, hide: bool) -> None:
        for note in queryset:
            note_moderate(note=note, hide=hide)
        verb = "hidden" if hide else "restored"
        self.message_user(request, f"{queryset.count()} note(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Hide selected notes (moderation)", permissions=["change"])
    def hide_notes(self, request, queryset):
        self._moderate(request, queryset, hide=True)

    @admin.action(description="Restore selected hidden notes", permissions=["change"])
    def restore_notes(self, request, queryset):
        self._moderate(request, queryset.filter(status=NoteStatus.HIDDEN), hide=False)

    def _reach(self, request, queryset, reach: float) -> None:
        changed = sum(feed_services.note_set_reach(note=note, reach=reach) is not None for note in queryset)
        message = f"Discovery reach of {changed} note(s) set to {reach:g}."
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description="Limit discovery reach (x0.2, followers still see it)", permissions=["change"])
    def limit_reach(self, request, queryset):
        self._reach(request, queryset, LIMITED_REACH)

    @admin.action(description="Restore full discovery reach", permissions=["change"])
    def restore_reach(self, request, queryset):
        self._reach(request, queryset, 1.0)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "note_count", "is_pinned", "is_suppressed", "created_at")
    list_filter = ("is_pinned", "is_suppressed")
    list_editable = ("is_pinned", "is_suppressed")
    search_fields = ("name",)
    readonly_fields = ("note_count",)


@admin.register(NoteLike)
class NoteLikeAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "note", "created_at")
    search_fields = ("user__username", "note__title")
    autocomplete_fields = ("user", "note")
    list_select_related = ("user", "note")


@admin.register(NoteCollect)
class NoteCollectAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "note", "board", "created_at")
    search_fields = ("user__username", "note__title", "board__name")
    autocomplete_fields = ("user", "note", "board")
    list_select_related = ("user", "note", "board")


@admin.register(NoteShare)
class NoteShareAdmin(admin.ModelAdmin):
    list_display = ("id", "note", "user", "channel", "created_at")
    list_filter = ("channel",)
    autocomplete_fields = ("user", "note")
    list_select_related = ("user", "note")


# --- Boards and comments ------------------------------------------------------------------------
# Both keep their counters exact only through the services, so the admin never adds or hard-deletes
# them. Moderators soft-delete comments with an action that calls the service.


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "is_private", "is_default", "note_count", "created_at")
    list_filter = ("is_private", "is_default")
    search_fields = ("name", "owner__username")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-id",)
    fields = (
        "owner",
        "name",
        "description",
        "is_private",
        "is_default",
        "note_count",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("owner", "is_default", "note_count", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False  # boards are made by their owners

    def has_delete_permission(self, request, obj=None):
        return False  # deleting must release the collects (counters): owners do it through the API

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name] for name in form.changed_data if name in board_services.BOARD_FIELDS
        }
        try:
            board_services.board_update(board=Board.objects.get(pk=obj.pk), user=obj.owner, data=data)
        except DomainError as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)


class CommentStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments are read-only here; the one change is a soft delete through the service."""

    list_display = (
        "id",
        "excerpt",
        "author",
        "note",
        "parent",
        "like_count",
        "reply_count",
        "created_at",
        "deleted_at",
    )
    list_filter = (CommentStateFilter, ("parent", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("body", "author__username", "=note__id")
    list_select_related = ("author", "note")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ("soft_delete",)
    readonly_fields = (
        "note",
        "author",
        "parent",
        "reply_to",
        "body",
        "like_count",
        "reply_count",
        "created_at",
        "deleted_at",
    )

    @admin.display(description="body")
    def excerpt(self, comment):
        return Truncator(comment.body).chars(60)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # soft-delete instead, so threads and counters stay whole

    def has_moderate_permission(self, request):
        return request.user.has_perm("notes.change_comment")

    @admin.action(description="Delete selected comments (soft: threads stay whole)", permissions=["moderate"])
    def soft_delete(self, request, queryset):
        done = sum(comment_services.comment_remove(comment=comment) for comment in queryset)
        self.message_user(request, f"{done} comment(s) deleted.", messages.SUCCESS)


# --- Reports ---------------------------------------------------------------------------------

REPORT_TARGET_ADMIN = {
    ReportTarget.NOTE: "admin:notes_note_change",
    ReportTarget.COMMENT: "admin:notes_comment_change",
    ReportTarget.USER: "admin:accounts_user_change",
}


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue. Taking a report down hides the note, removes the comment or
    deactivates the user, and closes every open report on the same target; dismissing closes them
    and leaves the content."""

    list_display = ("id", "target", "reason", "status", "reporter", "created_at", "resolved_by")
    list_filter = ("status", "target_type", "reason", "created_at")
    search_fields = ("detail", "reporter__username", "=target_id")
    list_select_related = ("reporter", "resolved_by")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ("take_down", "dismiss")
    readonly_fields = (
        "reporter",
        "target",
        "reason",
        "detail",
        "status",
        "resolved_by",
        "resolved_at",
        "created_at",
    )
    exclude = ("target_type", "target_id")

    @admin.display(description="target")
    def target(self, report):
        url = reverse(REPORT_TARGET_ADMIN[report.target_type], args=[report.target_id])
        return format_html('<a href="{}">{} {}</a>', url, report.get_target_type_display(), report.target_id)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # reports are the moderation record

    def _resolve(self, request, queryset, *, take_down: bool) -> None:
        closed = 0
        for report in queryset.filter(status=ReportStatus.OPEN):
            report.refresh_from_db()  # an earlier one may have closed it with its target
            if report.status == ReportStatus.OPEN:
                closed += report_services.report_resolve(
                    report=report, moderator=request.user, take_down=take_down
                )
        self.message_user(request, f"{closed} open report(s) closed.", messages.SUCCESS)

    @admin.action(description="Take down the reported content (closes its reports)", permissions=["change"])
    def take_down(self, request, queryset):
        self._resolve(request, queryset, take_down=True)

    @admin.action(description="Dismiss (leave the content, close its reports)", permissions=["change"])
    def dismiss(self, request, queryset):
        self._resolve(request, queryset, take_down=False)


# --- Search and trending ----------------------------------------------------------------------


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the roll-up, never by hand. (Users' search histories are deliberately not in the
    admin: they are personal, and their owners list and clear them through the API.)"""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HotSearch)
class HotSearchAdmin(_ReadOnlyAdmin):
    """The hot searches as of the last roll-up (every few minutes, over the trending window)."""

    list_display = ("rank", "query", "score", "computed_at")
    search_fields = ("query",)
    ordering = ("rank",)

    def has_delete_permission(self, request, obj=None):
        return False  # the next roll-up would bring it back; fix the cause instead


@admin.register(TopicHeat)
class TopicHeatAdmin(_ReadOnlyAdmin):
    """Topic use over the trending window as of the last roll-up. Pin or suppress a topic on the
    topic itself."""

    list_display = ("topic", "score", "is_pinned", "is_suppressed", "computed_at")
    list_select_related = ("topic",)
    search_fields = ("topic__name",)
    ordering = ("-score",)

    @admin.display(boolean=True)
    def is_pinned(self, heat):
        return heat.topic.is_pinned

    @admin.display(boolean=True)
    def is_suppressed(self, heat):
        return heat.topic.is_suppressed

    def has_delete_permission(self, request, obj=None):
        return False
