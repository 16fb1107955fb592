"""Reports: people flag notes, comments and users; moderators action or dismiss them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from config.errors import InvalidInput, NotFound
from notes import selectors
from notes.choices import ReportStatus, ReportTarget
from notes.models import Comment, Note, Report
from notes.selectors_social import comment_get_visible
from notes.services import comments as comment_services
from notes.services import notes as note_services


@dataclass(frozen=True)
class ReportResult:
    report: Report
    created: bool


def _check_target(*, reporter: User, target_type: str, target_id: int) -> None:
    """The reporter must be able to see what they report (404 otherwise, as everywhere). A deleted
    comment shows no body any more (its placeholder stays while it has replies): nothing to report,
    as there is nothing left to like."""
    if target_type == ReportTarget.NOTE:
        selectors.note_get_for_interaction(note_id=target_id, viewer=reporter)
    elif target_type == ReportTarget.COMMENT:
        if comment_get_visible(comment_id=target_id, viewer=reporter).deleted_at is not None:
            raise NotFound("No such comment.")
    else:
        user = User.objects.visible_to(reporter).filter(pk=target_id).first()
        if user is None:
            raise NotFound("No such user.")
        if user.pk == reporter.pk:
            raise InvalidInput("You cannot report yourself.", code="self_report")


@transaction.atomic
def report_create(
    *, reporter: User, target_type: str, target_id: int, reason: str, detail: str = ""
) -> ReportResult:
    """File a report; an open report by the same person on the same target is returned as is."""
    _check_target(reporter=reporter, target_type=target_type, target_id=target_id)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, target_type=target_type, target_id=target_id, reason=reason, detail=detail
            )
    except IntegrityError:
        report = Report.objects.get(
            reporter=reporter, target_type=target_type, target_id=target_id, status=ReportStatus.OPEN
        )
        return ReportResult(report, created=False)
    return ReportResult(report, created=True)


def _take_down(target_type: str, target_id: int) -> None:
    if target_type == ReportTarget.NOTE:
        note = Note.objects.filter(pk=target_id).first()
        if note is not None:
            note_services.note_moderate(note=note, hide=True)
    elif target_type == ReportTarget.COMMENT:
        comment = Comment.objects.filter(pk=target_id).first()
        if comment is not None:
            comment_services.comment_remove(comment=comment)
    else:
        user = User.objects.filter(pk=target_id).first()
        if user is not None:
            account_services.user_set_active(user=user, active=False)


@transaction.atomic
def report_resolve(*, report: Report, moderator: User, take_down: bool) -> int:
    """Action (hide the note, remove the comment, deactivate the user) or dismiss a report, and
    with it every open report on the same target. Returns how many reports were closed."""
    if take_down:
        _take_down(report.target_type, report.target_id)
    return Report.objects.filter(
        target_type=report.target_type, target_id=report.target_id, status=ReportStatus.OPEN
    ).update(
        status=ReportStatus.ACTIONED if take_down else ReportStatus.DISMISSED,
        resolved_by=moderator,
        resolved_at=timezone.now(),
    )
