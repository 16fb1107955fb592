"""Authorization and visibility audit of the notes API: who may see or change what.

What the other notes tests already hold (the author's own drafts, the note page, PATCH/DELETE/like
sweep, toggles against every visibility state, comment permissions and blocks, private boards,
search results) is not repeated here. These fill the gaps of the viewer x state matrix:
anonymous and staff viewers, the comment, share, feedback and report endpoints of notes others may
not see, taking a comment down across a block, reports of what is gone, other people's media in an
edit, mentions in notes their people may not see, topics only unpublished notes use, and boards of
someone who hides their collects.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Notification, User
from accounts.moderation import MODERATORS_GROUP
from notes.choices import MediaStatus, NoteStatus, Visibility
from notes.models import (
    Comment,
    CommentLike,
    Note,
    NoteCollect,
    NoteShare,
    NoteTopic,
    NotInterested,
    Report,
    Topic,
)
from notes.services import notes as note_services
from notes.services.comments import comment_create
from notes.services.interactions import note_collect
from tests.factories import BlockFactory, FollowFactory, UserFactory
from tests.factories.notes import BoardFactory, MediaFactory, NoteFactory, live_note
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

NOTES = "/api/v1/notes"


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# --- Notes others may not see: every note-scoped endpoint, for every kind of viewer ---------------

# (state, whether the viewer may see the note). "Viewer follows" and "viewer asked" are relations
# of a signed-in viewer; blocks too, so those states are not run for anonymous readers.
STATES = [
    ("public", True),
    ("draft", False),
    ("scheduled", False),
    ("processing", False),
    ("private", False),
    ("followers only", False),
    ("followers only, viewer follows", True),
    ("private account", False),
    ("private account, viewer asked", False),
    ("private account, viewer follows", True),
    ("hidden", False),
    ("deleted", False),
    ("author blocked viewer", False),
    ("viewer blocked author", False),
    ("inactive author", False),
]
VIEWERS = ["stranger", "staff", "anonymous"]
CASES = [
    (state, visible, viewer)
    for state, visible in STATES
    for viewer in VIEWERS
    if not (viewer == "anonymous" and ("viewer" in state or "blocked" in state))
]


def _viewer(kind: str) -> User | None:
    if kind == "anonymous":
        return None
    if kind == "staff":  # a moderator: their powers are the admin's, the API gives them no more reach
        staff = UserFactory(is_staff=True)
        staff.groups.add(Group.objects.get(name=MODERATORS_GROUP))
        return staff
    return UserFactory()


def _note_in_state(state: str, viewer: User | None) -> tuple[Note, Comment, Topic]:
    """A note (with a comment, in a topic that a public note keeps listed) put in ``state``."""
    author = UserFactory()
    note = NoteFactory(author=author)
    comment = comment_create(note=note, author=UserFactory(), body="first!")
    if "private account" in state:
        User.objects.filter(pk=author.pk).update(is_private=True)
        author.is_private = True
    topic = Topic.objects.create(name="审计话题", note_count=2)
    NoteTopic.objects.bulk_create(
        [NoteTopic(note=note, topic=topic), NoteTopic(note=NoteFactory(), topic=topic)]
    )
    changes = {
        "draft": {"status": NoteStatus.DRAFT, "published_at": None},
        "scheduled": {
            "status": NoteStatus.SCHEDULED,
            "published_at": None,
            "publish_at": timezone.now() + timedelta(days=1),
        },
        "processing": {"status": NoteStatus.PROCESSING, "published_at": None},
        "private": {"visibility": Visibility.PRIVATE},
        "hidden": {"status": NoteStatus.HIDDEN},
        "deleted": {"deleted_at": timezone.now()},
    }
    if state.startswith("followers only"):
        Note.objects.filter(pk=note.pk).update(visibility=Visibility.FOLLOWERS)
    elif state in changes:
        Note.objects.filter(pk=note.pk).update(**changes[state])
    if state.endswith("viewer follows"):
        FollowFactory(follower=viewer, followee=author)
    elif state.endswith("viewer asked"):
        account_services.follow_create(follower=viewer, followee=author)
    elif state == "author blocked viewer":
        BlockFactory(blocker=author, blocked=viewer)
    elif state == "viewer blocked author":
        BlockFactory(blocker=viewer, blocked=author)
    elif state == "inactive author":
        User.objects.filter(pk=author.pk).update(is_active=False)
    return note, comment, topic


@pytest.mark.parametrize("state", ["draft", "scheduled", "processing", "hidden"])
def test_the_author_sees_a_note_that_is_not_out_but_nobody_interacts_with_it(client_for, state):
    """An author reads their own draft, scheduled, processing or hidden note, but it takes no like,
    collect, share, comment or report (as nobody else's): a 404, as for a note they may not see,
    and nothing is counted. Once out, it takes them (their own private note included)."""
    note, comment, _ = _note_in_state(state, None)
    author = client_for(note.author)
    url = f"{NOTES}/{note.pk}"
    assert author.get(url).status_code == 200
    writes = [
        (f"{url}/like", {}),
        (f"{url}/collect", {}),
        (f"{url}/share", {"channel": "wechat"}),
        (f"{url}/comments", {"body": "hi"}),
        (f"/api/v1/comments/{comment.pk}/replies", {"body": "hi"}),
        (f"/api/v1/comments/{comment.pk}/like", {}),
        ("/api/v1/reports", {"target_type": "note", "target_id": note.pk, "reason": "spam"}),
    ]
    for target, body in writes:
        assert_error(author.post(target, body, format="json"), 404, "not_found")
    counts = Note.objects.values_list("like_count", "collect_count", "share_count", "comment_count")
    assert counts.get(pk=note.pk) == (0, 0, 0, 1)
    assert not NoteShare.objects.filter(note=note).exists()
    assert Comment.objects.get(pk=comment.pk).like_count == 0

    Note.objects.filter(pk=note.pk).update(
        status=NoteStatus.PUBLISHED, published_at=timezone.now(), visibility=Visibility.PRIVATE
    )
    for target, body in writes[:-1]:
        assert author.post(target, body, format="json").status_code in (200, 201), target
    assert counts.get(pk=note.pk) == (1, 1, 1, 3)


@pytest.mark.parametrize(("state", "visible", "viewer_kind"), CASES)
def test_every_note_endpoint_answers_as_the_visibility_rule_says(client_for, state, visible, viewer_kind):
    viewer = _viewer(viewer_kind)
    note, comment, topic = _note_in_state(state, viewer)
    assert Note.objects.visible_to(viewer).filter(pk=note.pk).exists() is visible
    client = client_for(viewer)
    url = f"{NOTES}/{note.pk}"
    reads = [
        url,
        f"{url}/comments",
        f"/api/v1/comments/{comment.pk}",
        f"/api/v1/comments/{comment.pk}/replies",
    ]
    for read in reads:
        response = client.get(read)
        if visible:
            assert response.status_code == 200, (read, response.content)
        else:
            assert_error(response, 404, "not_found")
    # The lists leave it out (a blocked pair or an inactive author: the whole profile is a 404).
    profile = client.get(f"/api/v1/users/{note.author.username}/notes")
    if "block" in state or state == "inactive author":
        assert_error(profile, 404, "not_found")
    else:
        assert (note.pk in result_ids(profile)) is visible
    assert (note.pk in result_ids(client.get(f"/api/v1/topics/{topic.name}/notes"))) is visible

    if viewer is None:  # every write needs an account
        assert_error(client.post(f"{url}/comments", {"body": "hi"}), 401, "not_authenticated")
        return
    writes = [
        (client.post, f"{url}/comments", {"body": "hi"}, 201),
        (client.post, f"/api/v1/comments/{comment.pk}/replies", {"body": "hi"}, 201),
        (client.post, f"/api/v1/comments/{comment.pk}/like", {}, 200),
        (client.post, f"{url}/share", {"channel": "wechat"}, 200),
        (client.post, f"{url}/not-interested", {}, 200),
        (client.post, f"{url}/collect", {}, 200),
        (
            client.post,
            "/api/v1/reports",
            {"target_type": "note", "target_id": note.pk, "reason": "spam"},
            201,
        ),
        (
            client.post,
            "/api/v1/reports",
            {"target_type": "comment", "target_id": comment.pk, "reason": "spam"},
            201,
        ),
    ]
    for call, target, body, success in writes:
        response = call(target, body, format="json")
        if visible:
            assert response.status_code == success, (target, response.content)
        else:
            assert_error(response, 404, "not_found")
    # Not the author's, so never theirs to change, whether they may see it or not.
    assert_error(client.patch(url, {"title": "mine now"}, format="json"), 404, "not_found")
    assert_error(client.delete(url), 404, "not_found")
    delete_comment = client.delete(f"/api/v1/comments/{comment.pk}")
    if visible:
        assert_error(delete_comment, 403, "permission_denied")
    else:
        assert_error(delete_comment, 404, "not_found")
    if not visible:  # and nothing was written
        assert list(Comment.objects.values_list("pk", flat=True)) == [comment.pk]
        for model in (CommentLike, NoteShare, NotInterested, NoteCollect, Report):
            assert not model.objects.exists(), model
        assert (fresh(note).share_count, fresh(note).collect_count, fresh(note).comment_count) == (0, 0, 1)
    assert fresh(note).title == note.title and fresh(comment).deleted_at is None


# --- Taking a comment down across a block ---------------------------------------------------------


@pytest.fixture
def thread(db):
    """alice's note with bob's comment, carol a bystander."""
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    note = NoteFactory(author=alice)
    comment = comment_create(note=note, author=bob, body="a comment alice may regret")
    return note, comment, {"alice": alice, "bob": bob, "carol": carol}


@pytest.mark.parametrize("deleter", ["alice", "bob"])
@pytest.mark.parametrize("direction", ["alice blocks bob", "bob blocks alice"])
def test_a_block_leaves_both_able_to_take_the_comment_down(client_for, thread, deleter, direction):
    """The comment's author and the note's author may delete it (``comment_delete``); a block
    between them hides each from the other, and must not take that right away: the harassed
    author could not clear their note, nor the commenter take back their words."""
    note, comment, people = thread
    blocker, blocked = ("alice", "bob") if direction == "alice blocks bob" else ("bob", "alice")
    account_services.block_create(blocker=people[blocker], blocked=people[blocked])
    client = client_for(people[deleter])
    url = f"/api/v1/comments/{comment.pk}"
    assert_error(client.get(url), 404, "not_found")  # the block hides it...
    assert_error(client_for(people["carol"]).delete(url), 403, "permission_denied")
    assert client.delete(url).status_code == 204  # ...but it is still theirs to take down
    assert client.delete(url).status_code == 204  # idempotent
    assert fresh(comment).deleted_at is not None and fresh(note).comment_count == 0
    assert_error(client.get(url), 404, "not_found")  # and deleting showed them nothing


@pytest.mark.parametrize("state", ["private", "followers only", "hidden", "author blocked commenter"])
def test_a_commenter_may_delete_their_comment_on_a_note_they_no_longer_see(client_for, thread, state):
    note, comment, people = thread
    if state == "hidden":
        Note.objects.filter(pk=note.pk).update(status=NoteStatus.HIDDEN)
    elif state == "author blocked commenter":
        account_services.block_create(blocker=people["alice"], blocked=people["bob"])
    else:
        Note.objects.filter(pk=note.pk).update(visibility=state.split()[0])
    url = f"/api/v1/comments/{comment.pk}"
    bob = client_for(people["bob"])
    assert_error(bob.get(url), 404, "not_found")
    # A bystander still may not: a 404 where they cannot see the note either, a 403 where they can.
    if state == "author blocked commenter":
        assert_error(client_for(people["carol"]).delete(url), 403, "permission_denied")
    else:
        assert_error(client_for(people["carol"]).delete(url), 404, "not_found")
    assert bob.delete(url).status_code == 204
    assert fresh(comment).deleted_at is not None


def test_comments_of_a_deleted_note_cannot_be_deleted_by_anyone(client_for, thread):
    note, comment, people = thread
    Note.objects.filter(pk=note.pk).update(deleted_at=timezone.now())
    for name in ("alice", "bob"):
        assert_error(client_for(people[name]).delete(f"/api/v1/comments/{comment.pk}"), 404, "not_found")
    assert fresh(comment).deleted_at is None


# --- Reports of what the reporter cannot see -----------------------------------------------------


def _report(client, target_type: str, target_id: int):
    body = {"target_type": target_type, "target_id": target_id, "reason": "harassment"}
    return client.post("/api/v1/reports", body, format="json")


REPORT_TARGETS = [
    "live comment",
    "deleted comment",
    "deleted reply",
    "comment by someone who blocked the reporter",
    "comment by someone the reporter blocked",
    "reply under the root of someone who blocked the reporter",
    "comment by an inactive user",
    "comment on a hidden note",
    "comment on a followers-only note",
    "note of a private account",
    "note of an inactive author",
    "inactive user",
]


@pytest.mark.parametrize("target", REPORT_TARGETS)
def test_reports_only_of_what_the_reporter_can_see(client_for, target):
    reporter, other = UserFactory(), UserFactory()
    note = NoteFactory()
    root = comment_create(note=note, author=other, body="root")
    reply = comment_create(note=note, author=UserFactory(), body="reply", reply_to=root)
    target_type, target_id = "comment", root.pk
    if target == "deleted comment":  # still listed, as a placeholder (it has a reply)
        Comment.objects.filter(pk=root.pk).update(deleted_at=timezone.now())
    elif target == "deleted reply":
        Comment.objects.filter(pk=reply.pk).update(deleted_at=timezone.now())
        target_id = reply.pk
    elif target == "comment by someone who blocked the reporter":
        BlockFactory(blocker=other, blocked=reporter)
    elif target == "comment by someone the reporter blocked":
        BlockFactory(blocker=reporter, blocked=other)
    elif target.startswith("reply under"):
        BlockFactory(blocker=other, blocked=reporter)
        target_id = reply.pk
    elif target == "comment by an inactive user":
        User.objects.filter(pk=other.pk).update(is_active=False)
    elif target == "comment on a hidden note":
        Note.objects.filter(pk=note.pk).update(status=NoteStatus.HIDDEN)
    elif target == "comment on a followers-only note":
        Note.objects.filter(pk=note.pk).update(visibility=Visibility.FOLLOWERS)
    elif target.startswith("note"):
        target_type, target_id = "note", note.pk
        User.objects.filter(pk=note.author_id).update(
            **({"is_private": True} if "private" in target else {"is_active": False})
        )
    elif target == "inactive user":
        target_type, target_id = "user", other.pk
        User.objects.filter(pk=other.pk).update(is_active=False)
    response = _report(client_for(reporter), target_type, target_id)
    if target == "live comment":
        assert response.status_code == 201, response.content
        assert Report.objects.get().target_id == root.pk
    else:
        assert_error(response, 404, "not_found")
        assert not Report.objects.exists()


# --- Other people's media ------------------------------------------------------------------------


def test_another_users_media_can_be_neither_attached_nor_made_the_cover_nor_read(client_for):
    me, them = UserFactory(), UserFactory()
    client = client_for(me)
    mine, theirs = MediaFactory(owner=me), MediaFactory(owner=them)
    note = NoteFactory(author=them, cover=theirs)  # a public note shows their medium...
    assert client.get(f"{NOTES}/{note.pk}").json()["cover"]["id"] == theirs.pk
    assert_error(client.get(f"/api/v1/media/{theirs.pk}"), 404, "not_found")  # ...not its upload
    created = client.post(NOTES, {"title": "t", "media": [mine.pk], "cover": theirs.pk}, format="json")
    assert_error(created, 400, "invalid")
    own = client.post(NOTES, {"title": "t", "media": [mine.pk]}, format="json").json()
    edits = [{"media": [theirs.pk]}, {"media": [mine.pk, theirs.pk]}, {"cover": theirs.pk}]
    for edit in edits:
        assert_error(client.patch(f"{NOTES}/{own['id']}", edit, format="json"), 400, "invalid")
    page = client.get(f"{NOTES}/{own['id']}").json()
    assert [m["id"] for m in page["media"]] == [mine.pk] and page["cover"]["id"] == mine.pk
    assert list(Note.objects.filter(note_media__media=theirs).values_list("pk", flat=True)) == [note.pk]


# --- Mentions ------------------------------------------------------------------------------------


def _mention_notices(user) -> list[int]:
    return list(
        Notification.objects.filter(recipient=user, verb="mention").values_list("target_id", flat=True)
    )


@pytest.mark.parametrize(
    ("visibility", "bob_follows", "told"),
    [
        (Visibility.PUBLIC, False, True),
        (Visibility.FOLLOWERS, False, False),
        (Visibility.FOLLOWERS, True, True),
        (Visibility.PRIVATE, False, False),
        (Visibility.PRIVATE, True, False),
    ],
)
def test_a_mention_is_told_only_to_someone_who_may_see_the_note(visibility, bob_follows, told):
    """A notice naming a note its recipient cannot open would tell them the note exists (and that
    they are in it): comments' mentions check this already (``_mentioned_users``), notes' now too."""
    author, bob = UserFactory(), UserFactory(username="bob")
    if bob_follows:
        FollowFactory(follower=bob, followee=author)
    note = live_note(author=author, body="today with @bob", visibility=visibility)
    assert _mention_notices(bob) == ([note.pk] if told else [])


def test_opening_a_note_to_more_readers_tells_who_may_see_it_now_and_nobody_twice(client_for):
    author, bob = UserFactory(), UserFactory(username="bob")
    client = client_for(author)
    media = MediaFactory(owner=author)
    note = client.post(
        NOTES, {"title": "t", "body": "hi @bob", "media": [media.pk], "visibility": "private"}, format="json"
    ).json()
    assert [m["username"] for m in note["mentions"]] == ["bob"] and _mention_notices(bob) == []
    edits = (
        {"visibility": "public"},
        {"title": "edited"},
        {"visibility": "private"},
        {"visibility": "public"},
    )
    for edit in edits:
        assert client.patch(f"{NOTES}/{note['id']}", edit, format="json").status_code == 200
    assert _mention_notices(bob) == [note["id"]]
    # A mention added by an edit of a live note is told too.
    carol = UserFactory(username="carol")
    client.patch(f"{NOTES}/{note['id']}", {"body": "hi @bob and @carol"}, format="json")
    assert _mention_notices(carol) == [note["id"]]


@pytest.mark.parametrize("relation", ["blocks the author", "blocked by the author", "inactive"])
def test_nobody_hidden_from_the_author_is_mentioned_or_told(relation):
    author, bob = UserFactory(), UserFactory(username="bob")
    if relation == "blocks the author":
        BlockFactory(blocker=bob, blocked=author)
    elif relation == "blocked by the author":
        BlockFactory(blocker=author, blocked=bob)
    else:
        User.objects.filter(pk=bob.pk).update(is_active=False)
    note = live_note(author=author, body="hi @bob")
    assert not note.mentions.exists() and _mention_notices(bob) == []


# --- Topics only unpublished notes use -----------------------------------------------------------

SECRET = "秘密新品发布会"


def _note_using_the_topic(state: str) -> Note:
    author = UserFactory()
    body = f"下周的 #{SECRET}"
    if state == "draft":
        return live_note(author=author, body=body, action="draft")
    if state == "scheduled":
        return live_note(
            author=author, body=body, action="schedule", publish_at=timezone.now() + timedelta(days=1)
        )
    if state == "processing":
        pending = MediaFactory(owner=author, status=MediaStatus.PENDING, variants={})
        return note_services.note_create(author=author, media_ids=[pending.pk], body=body)
    if state in (Visibility.PRIVATE, Visibility.FOLLOWERS):
        return live_note(author=author, body=body, visibility=state)
    note = live_note(author=author, body=body)
    if state == "hidden":
        note_services.note_moderate(note=note, hide=True)
    elif state == "deleted":
        note_services.note_delete(note=note, user=author)
    return note


def _topic_found(client) -> dict[str, bool]:
    search = client.get("/api/v1/search", {"q": SECRET, "type": "topics"}).json()["results"]
    suggest = client.get("/api/v1/search/suggest", {"q": SECRET[:2]}).json()
    return {
        "page": client.get(f"/api/v1/topics/{SECRET}").status_code == 200,
        "notes": client.get(f"/api/v1/topics/{SECRET}/notes").status_code == 200,
        "search": [t["name"] for t in search] == [SECRET],
        "suggest": {"text": SECRET, "kind": "topic"} in suggest,
        "trending": SECRET in [t["name"] for t in client.get("/api/v1/topics/trending").json()],
    }


NOWHERE = dict.fromkeys(("page", "notes", "search", "suggest", "trending"), False)


@pytest.mark.parametrize(
    "state",
    [
        "draft",
        "scheduled",
        "processing",
        "hidden",
        "deleted",
        Visibility.PRIVATE,
        Visibility.FOLLOWERS,
    ],
)
def test_a_topic_only_unpublished_notes_use_is_found_nowhere(anon_client, client_for, state):
    """Topics are created when a draft names them: their names are the author's unpublished text."""
    note = _note_using_the_topic(state)
    assert Topic.objects.filter(name=SECRET).exists()
    for client in (anon_client, client_for(UserFactory()), client_for(note.author)):
        assert _topic_found(client) == NOWHERE
    live_note(body=f"#{SECRET} 来了")  # a public note puts it out: found everywhere
    assert _topic_found(anon_client) == dict.fromkeys(NOWHERE, True)


# --- Boards of someone who hides their collects --------------------------------------------------


def test_hiding_collects_hides_every_board_too(client_for, anon_client):
    """The collects tab is what the public boards hold, and the default board is every collect made
    without choosing a board: ``hide_collects`` hid the tab while the same notes were a board away."""
    owner = UserFactory(username="owner", hide_collects=True)
    public, secret = BoardFactory(owner=owner), BoardFactory(owner=owner, is_private=True)
    for board in (public, secret, None):
        note_collect(note=NoteFactory(), user=owner, board=board)
    default = owner.boards.get(is_default=True)
    follower = UserFactory()
    FollowFactory(follower=follower, followee=owner)
    others = (anon_client, client_for(UserFactory()), client_for(follower))

    def board_urls(board):
        return (f"/api/v1/boards/{board.pk}", f"/api/v1/boards/{board.pk}/notes")

    for client in others:
        assert_error(client.get(f"/api/v1/users/{owner.username}/boards"), 403, "collects_hidden")
        assert_error(client.get(f"/api/v1/users/{owner.username}/collects"), 403, "collects_hidden")
        for board in (default, public, secret):
            for url in board_urls(board):
                assert_error(client.get(url), 404, "not_found")
    mine = client_for(owner)
    assert len(result_ids(mine.get(f"/api/v1/users/{owner.username}/boards"))) == 3
    for board in (default, public, secret):
        assert len(result_ids(mine.get(board_urls(board)[1]))) == 1

    User.objects.filter(pk=owner.pk).update(hide_collects=False)  # shown again: the public ones
    for client in others:
        listed = result_ids(client.get(f"/api/v1/users/{owner.username}/boards"))
        assert set(listed) == {default.pk, public.pk}
        for board in (default, public):
            assert len(result_ids(client.get(board_urls(board)[1]))) == 1
        assert_error(client.get(board_urls(secret)[0]), 404, "not_found")
