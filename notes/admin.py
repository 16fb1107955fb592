from django.contrib import admin, messages
from django.utils.html import format_html_join
from django.utils.text import Truncator

from config.errors import DomainError
from notes.choices import NoteStatus
from notes.models import (
    Board,
    Comment,
    Media,
    Note,
    NoteCollect,
    NoteLike,
    NoteMedia,
    NoteRevision,
    NoteShare,
    Topic,
)
from notes.services import boards as board_services
from notes.services import comments as comment_services
from notes.services import media as media_services
from notes.services.notes import note_moderate

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
    readonly_fields = (
        "like_count",
        "collect_count",
        "comment_count",
        "share_count",
        "published_at",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    actions = ("hide_notes", "restore_notes")

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
