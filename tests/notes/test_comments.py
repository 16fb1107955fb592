"""Comments through the API: two-level threads, permissions, blocks, deletion, pins, likes,
notifications, query budgets and concurrent likes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Audience
from accounts.models import Block, Follow, Notification, User
from config.errors import InvalidInput, NotFound
from notes.choices import NoteStatus, Visibility
from notes.models import Comment, CommentLike, Note
from notes.services import comments as services
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.helpers import assert_error, run_together

pytestmark = pytest.mark.django_db


def comments_url(note) -> str:
    return f"/api/v1/notes/{note.pk}/comments"


def replies_url(comment_id) -> str:
    return f"/api/v1/comments/{comment_id}/replies"


def like_url(comment_id) -> str:
    return f"/api/v1/comments/{comment_id}/like"


def pin_url(note) -> str:
    return f"/api/v1/notes/{note.pk}/pinned-comment"


def post_comment(client, note, body="Nice!") -> dict:
    response = client.post(comments_url(note), {"body": body})
    assert response.status_code == 201, response.content
    return response.json()


def post_reply(client, comment_id, body="Agreed") -> dict:
    response = client.post(replies_url(comment_id), {"body": body})
    assert response.status_code == 201, response.content
    return response.json()


def listing(client, url, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def counts(note) -> int:
    return Note.objects.get(pk=note.pk).comment_count


def reply_count(comment_id) -> int:
    return Comment.objects.get(pk=comment_id).reply_count


@pytest.fixture
def people(db):
    return {name: UserFactory(username=name) for name in ("alice", "bob", "carol", "dave")}


@pytest.fixture
def note(people):
    return NoteFactory(author=people["alice"])


# --- Threads -------------------------------------------------------------------------------------


def test_threaded_comments_and_replies(client_for, people, note):
    bob, carol = client_for(people["bob"]), client_for(people["carol"])
    root = post_comment(bob, note, "  Where is this?  ")
    assert root["body"] == "Where is this?"
    assert (root["parent"], root["reply_to"], root["is_deleted"], root["replies"]) == (None, None, False, [])
    assert root["author"]["username"] == "bob"

    reply = post_reply(carol, root["id"], "Hangzhou!")
    assert (reply["parent"], reply["reply_to"], reply["note"]) == (root["id"], "bob", note.pk)

    # Answering a reply files the answer under the same root and names whom it answers.
    answer = post_reply(bob, reply["id"], "Thanks @carol")
    assert (answer["parent"], answer["reply_to"]) == (root["id"], "carol")
    assert Comment.objects.filter(parent_id=reply["id"]).count() == 0

    assert counts(note) == 3
    assert reply_count(root["id"]) == 2

    body = listing(client_for(people["dave"]), comments_url(note))
    [thread] = body["results"]
    assert thread["id"] == root["id"]
    assert thread["reply_count"] == 2
    assert [r["id"] for r in thread["replies"]] == [reply["id"], answer["id"]]
    assert body["pinned"] is None

    replies = listing(client_for(people["dave"]), replies_url(root["id"]))["results"]
    assert [r["body"] for r in replies] == ["Hangzhou!", "Thanks @carol"]


def test_roots_newest_first_and_preview_is_the_first_three_replies(client_for, people, note):
    bob = client_for(people["bob"])
    first = post_comment(bob, note, "first")
    second = post_comment(bob, note, "second")
    replies = [post_reply(bob, first["id"], f"r{n}")["id"] for n in range(5)]

    body = listing(client_for(people["carol"]), comments_url(note))
    assert [c["id"] for c in body["results"]] == [second["id"], first["id"]]
    thread = body["results"][1]
    assert [r["id"] for r in thread["replies"]] == replies[:3]
    assert thread["reply_count"] == 5

    page = listing(client_for(people["carol"]), replies_url(first["id"]), page_size=2)
    assert [r["id"] for r in page["results"]] == replies[:2]
    assert page["next"]


def test_anonymous_may_read_but_not_write(anon_client, client_for, people, note):
    post_comment(client_for(people["bob"]), note)
    assert len(listing(anon_client, comments_url(note))["results"]) == 1
    assert_error(anon_client.post(comments_url(note), {"body": "hi"}), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"body": "   "}, "body"), ({"body": "x" * 1001}, "body"), ({}, "body"), ({"body": "ok", "x": 1}, "x")],
)
def test_comment_body_is_validated(client_for, people, note, payload, field):
    error = assert_error(client_for(people["bob"]).post(comments_url(note), payload), 400, "invalid")
    assert field in error["fields"]
    assert counts(note) == 0


def test_comment_of_exactly_1000_characters(client_for, people, note):
    assert len(post_comment(client_for(people["bob"]), note, "好" * 1000)["body"]) == 1000


def test_service_refuses_blank_bodies_too(people, note):
    with pytest.raises(InvalidInput):
        services.comment_create(note=note, author=people["bob"], body=" \n ")


@pytest.mark.parametrize(
    ("status", "visibility"),
    [(NoteStatus.DRAFT, Visibility.PUBLIC), (NoteStatus.PUBLISHED, Visibility.PRIVATE)],
)
def test_notes_others_cannot_see_have_no_comments_for_them(client_for, people, status, visibility):
    note = NoteFactory(author=people["alice"], status=status, visibility=visibility)
    bob = client_for(people["bob"])
    assert_error(bob.get(comments_url(note)), 404, "not_found")
    assert_error(bob.post(comments_url(note), {"body": "hi"}), 404, "not_found")


def test_nobody_comments_on_a_draft_not_even_its_author(client_for, people):
    draft = NoteFactory(author=people["alice"], status=NoteStatus.DRAFT)
    assert_error(client_for(people["alice"]).post(comments_url(draft), {"body": "hi"}), 404, "not_found")


# --- Comment permission and blocks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "who", "allowed"),
    [
        (Audience.EVERYONE, "stranger", True),
        (Audience.FOLLOWERS, "stranger", False),
        (Audience.FOLLOWERS, "follower", True),
        (Audience.NOBODY, "follower", False),
        (Audience.NOBODY, "author", True),
        (Audience.FOLLOWERS, "author", True),
    ],
)
def test_comment_permission(client_for, people, note, permission, who, allowed):
    User.objects.filter(pk=people["alice"].pk).update(comment_permission=permission)
    Follow.objects.create(follower=people["carol"], followee=people["alice"])
    user = {"stranger": people["bob"], "follower": people["carol"], "author": people["alice"]}[who]
    root = Comment.objects.create(note=note, author=people["dave"], body="existing")
    client = client_for(user)
    for url in (comments_url(note), replies_url(root.pk)):
        response = client.post(url, {"body": "hello"})
        if allowed:
            assert response.status_code == 201, response.content
        else:
            assert_error(response, 403, "comments_restricted")
    assert Comment.objects.filter(author=user).count() == (2 if allowed else 0)


@pytest.mark.parametrize("direction", ["author_blocks", "blocks_author"])
def test_blocked_users_cannot_see_or_comment(client_for, people, note, direction):
    alice, bob = people["alice"], people["bob"]
    root = Comment.objects.create(note=note, author=people["carol"], body="hi")
    if direction == "author_blocks":
        Block.objects.create(blocker=alice, blocked=bob)
    else:
        Block.objects.create(blocker=bob, blocked=alice)
    client = client_for(bob)
    assert_error(client.get(comments_url(note)), 404, "not_found")
    assert_error(client.post(comments_url(note), {"body": "hi"}), 404, "not_found")
    assert_error(client.post(replies_url(root.pk), {"body": "hi"}), 404, "not_found")
    assert_error(client.post(like_url(root.pk)), 404, "not_found")
    assert counts(note) == 0


def test_comments_of_blocked_people_are_hidden_with_their_threads(client_for, people, note):
    bob, carol, dave = (client_for(people[n]) for n in ("bob", "carol", "dave"))
    bobs = post_comment(bob, note, "by bob")
    carols = post_comment(carol, note, "by carol")
    post_reply(bob, carols["id"], "bob answers carol")
    post_reply(dave, bobs["id"], "dave under bob")
    Block.objects.create(blocker=people["dave"], blocked=people["bob"])

    [thread] = listing(dave, comments_url(note))["results"]
    assert thread["id"] == carols["id"]
    assert thread["replies"] == []  # bob's reply is hidden from dave
    assert listing(dave, replies_url(carols["id"]))["results"] == []
    # Bob's whole thread is out of reach for dave, his own reply included.
    assert_error(dave.get(replies_url(bobs["id"])), 404, "not_found")
    dave_reply = Comment.objects.get(author=people["dave"])
    assert_error(dave.get(f"/api/v1/comments/{dave_reply.pk}"), 404, "not_found")
    assert_error(dave.post(replies_url(dave_reply.pk), {"body": "x"}), 404, "not_found")
    # Everyone else still sees both threads.
    assert len(listing(client_for(people["alice"]), comments_url(note))["results"]) == 2


def test_cannot_answer_a_comment_of_someone_who_blocked_you_via_the_service(people, note):
    root = services.comment_create(note=note, author=people["carol"], body="hi")
    Block.objects.create(blocker=people["carol"], blocked=people["bob"])
    with pytest.raises(NotFound):
        services.comment_create(note=note, author=people["bob"], body="x", reply_to=root)


def test_reply_must_belong_to_the_note(people, note):
    other = NoteFactory(author=people["alice"])
    root = services.comment_create(note=other, author=people["carol"], body="hi")
    with pytest.raises(NotFound):
        services.comment_create(note=note, author=people["bob"], body="x", reply_to=root)


# --- Deletion ------------------------------------------------------------------------------------


def test_delete_permissions_and_idempotence(client_for, people, note):
    bob, carol, alice = (client_for(people[n]) for n in ("bob", "carol", "alice"))
    first = post_comment(bob, note)
    second = post_comment(bob, note)
    assert_error(carol.delete(f"/api/v1/comments/{first['id']}"), 403, "permission_denied")
    assert bob.delete(f"/api/v1/comments/{first['id']}").status_code == 204
    assert bob.delete(f"/api/v1/comments/{first['id']}").status_code == 204  # idempotent
    assert alice.delete(f"/api/v1/comments/{second['id']}").status_code == 204  # the note's author
    assert counts(note) == 0
    assert Comment.objects.filter(deleted_at__isnull=False).count() == 2
    assert listing(carol, comments_url(note))["results"] == []
    assert_error(carol.post(like_url(first["id"])), 404, "not_found")  # nothing left to like


def test_deleting_keeps_threads_coherent(client_for, people, note):
    bob, carol, dave = (client_for(people[n]) for n in ("bob", "carol", "dave"))
    root = post_comment(bob, note, "root")
    r1 = post_reply(carol, root["id"], "r1")
    r2 = post_reply(dave, r1["id"], "r2")
    assert (counts(note), reply_count(root["id"])) == (3, 2)

    # The root goes; its replies stay under a placeholder.
    assert bob.delete(f"/api/v1/comments/{root['id']}").status_code == 204
    assert (counts(note), reply_count(root["id"])) == (2, 2)
    [placeholder] = listing(dave, comments_url(note))["results"]
    assert placeholder["id"] == root["id"]
    assert (placeholder["is_deleted"], placeholder["body"], placeholder["author"]) == (True, "", None)
    assert [r["id"] for r in placeholder["replies"]] == [r1["id"], r2["id"]]
    assert [r["id"] for r in listing(dave, replies_url(root["id"]))["results"]] == [r1["id"], r2["id"]]
    assert_error(dave.post(replies_url(root["id"]), {"body": "x"}), 404, "not_found")

    # A deleted reply disappears; the last one takes the placeholder with it.
    assert carol.delete(f"/api/v1/comments/{r1['id']}").status_code == 204
    assert (counts(note), reply_count(root["id"])) == (1, 1)
    assert [r["id"] for r in listing(dave, replies_url(root["id"]))["results"]] == [r2["id"]]
    assert dave.delete(f"/api/v1/comments/{r2['id']}").status_code == 204
    assert (counts(note), reply_count(root["id"])) == (0, 0)
    assert listing(dave, comments_url(note))["results"] == []


# --- Pins ----------------------------------------------------------------------------------------


def test_pin_and_unpin(client_for, people, note):
    alice, bob = client_for(people["alice"]), client_for(people["bob"])
    old = post_comment(bob, note, "old")
    new = post_comment(bob, note, "new")
    newest = post_comment(bob, note, "newest")
    reply = post_reply(alice, old["id"])

    assert_error(bob.post(pin_url(note), {"comment": old["id"]}), 403, "permission_denied")
    assert_error(alice.post(pin_url(note), {"comment": reply["id"]}), 400, "not_pinnable")
    other = Comment.objects.create(note=NoteFactory(author=people["alice"]), author=people["bob"], body="x")
    assert_error(alice.post(pin_url(note), {"comment": other.pk}), 404, "not_found")
    assert_error(alice.post(pin_url(note), {}), 400, "invalid")

    response = alice.post(pin_url(note), {"comment": old["id"]})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == old["id"]
    assert [r["id"] for r in response.json()["replies"]] == [reply["id"]]
    body = listing(bob, comments_url(note))
    assert body["pinned"]["id"] == old["id"]
    assert [c["id"] for c in body["results"]] == [newest["id"], new["id"]]  # not listed twice

    # One pinned at a time.
    assert alice.post(pin_url(note), {"comment": new["id"]}).status_code == 200
    body = listing(bob, comments_url(note))
    assert body["pinned"]["id"] == new["id"]
    assert [c["id"] for c in body["results"]] == [newest["id"], old["id"]]
    # Later pages do not repeat it.
    page1 = listing(bob, comments_url(note), page_size=1)
    assert page1["pinned"]["id"] == new["id"]
    page2 = bob.get(page1["next"]).json()
    assert [c["id"] for c in page2["results"]] == [old["id"]]
    assert page2["pinned"] is None

    assert_error(bob.delete(pin_url(note)), 403, "permission_denied")
    assert alice.delete(pin_url(note)).status_code == 204
    assert alice.delete(pin_url(note)).status_code == 204
    assert Note.objects.get(pk=note.pk).pinned_comment_id is None
    assert listing(bob, comments_url(note))["pinned"] is None


def test_deleting_the_pinned_comment_unpins_it(client_for, people, note):
    alice, bob = client_for(people["alice"]), client_for(people["bob"])
    root = post_comment(bob, note)
    alice.post(pin_url(note), {"comment": root["id"]})
    assert bob.delete(f"/api/v1/comments/{root['id']}").status_code == 204
    assert Note.objects.get(pk=note.pk).pinned_comment_id is None
    assert listing(alice, comments_url(note)) == {
        "results": [],
        "next": None,
        "previous": None,
        "pinned": None,
    }
    assert_error(alice.post(pin_url(note), {"comment": root["id"]}), 400, "not_pinnable")


def test_deleting_another_comment_keeps_the_pin_and_counts_it(client_for, people, note):
    alice, bob = client_for(people["alice"]), client_for(people["bob"])
    pinned, other = post_comment(bob, note), post_comment(bob, note)
    alice.post(pin_url(note), {"comment": pinned["id"]})
    before = Note.objects.get(pk=note.pk).comment_count
    assert bob.delete(f"/api/v1/comments/{other['id']}").status_code == 204
    after = Note.objects.get(pk=note.pk)
    assert (after.pinned_comment_id, after.comment_count) == (pinned["id"], before - 1)
    assert listing(alice, comments_url(note))["pinned"]["id"] == pinned["id"]


# --- Likes ---------------------------------------------------------------------------------------


def test_comment_likes_are_idempotent(client_for, people, note):
    bob, carol = client_for(people["bob"]), client_for(people["carol"])
    root = post_comment(bob, note)
    first, again = carol.post(like_url(root["id"])).json(), carol.post(like_url(root["id"])).json()
    assert first == {"active": True, "changed": True, "like_count": 1}
    assert again == {"active": True, "changed": False, "like_count": 1}
    assert bob.post(like_url(root["id"])).json()["like_count"] == 2

    [thread] = listing(carol, comments_url(note))["results"]
    assert (thread["liked"], thread["like_count"]) == (True, 2)
    [thread] = listing(client_for(people["dave"]), comments_url(note))["results"]
    assert thread["liked"] is False

    assert carol.delete(like_url(root["id"])).json() == {"active": False, "changed": True, "like_count": 1}
    assert carol.delete(like_url(root["id"])).json() == {"active": False, "changed": False, "like_count": 1}
    assert CommentLike.objects.count() == 1
    assert_error(client_for(people["dave"]).get(like_url(root["id"])), 405, "method_not_allowed")


def test_author_flags_on_comments(client_for, people, note):
    post_comment(client_for(people["bob"]), note)
    Follow.objects.create(follower=people["carol"], followee=people["bob"])
    [thread] = listing(client_for(people["carol"]), comments_url(note))["results"]
    assert thread["author"]["is_following"] is True
    [thread] = listing(client_for(people["dave"]), comments_url(note))["results"]
    assert thread["author"]["is_following"] is False


# --- Notifications -------------------------------------------------------------------------------


def inbox(user) -> list[tuple]:
    return list(
        Notification.objects.filter(recipient=user)
        .order_by("id")
        .values_list("actor__username", "verb", "target_type", "target_id")
    )


def test_comments_notify_on_commit(client_for, people, note, django_capture_on_commit_callbacks):
    bob, carol = client_for(people["bob"]), client_for(people["carol"])
    with django_capture_on_commit_callbacks(execute=True):
        root = post_comment(bob, note, "so pretty @dave @alice")
    assert inbox(people["alice"]) == [("bob", "comment", "note", note.pk)]  # not also as a mention
    assert inbox(people["dave"]) == [("bob", "mention", "comment", root["id"])]

    with django_capture_on_commit_callbacks(execute=True):
        reply = post_reply(carol, root["id"])
    assert inbox(people["bob"]) == [("carol", "reply", "comment", reply["id"])]

    with django_capture_on_commit_callbacks(execute=True):
        answer = post_reply(bob, reply["id"], "@carol thanks")  # the reply already tells carol
    assert inbox(people["carol"]) == [("bob", "reply", "comment", answer["id"])]

    with django_capture_on_commit_callbacks(execute=True):
        carol.post(like_url(root["id"]))
    assert inbox(people["bob"])[-1] == ("carol", "like", "comment", root["id"])

    # Commenting on your own note notifies nobody.
    with django_capture_on_commit_callbacks(execute=True):
        post_comment(client_for(people["alice"]), note, "thanks all")
    assert len(inbox(people["alice"])) == 1


def test_mentions_honour_privacy_blocks_and_note_visibility(
    client_for, people, django_capture_on_commit_callbacks
):
    shy = UserFactory(username="shy", mention_permission=Audience.NOBODY)
    picky = UserFactory(username="picky", mention_permission=Audience.FOLLOWERS)
    fan = UserFactory(username="fan", mention_permission=Audience.FOLLOWERS)
    Follow.objects.create(follower=people["bob"], followee=fan)
    Block.objects.create(blocker=people["dave"], blocked=people["bob"])
    outsider = UserFactory(username="outsider")
    note = NoteFactory(author=people["alice"], visibility=Visibility.FOLLOWERS)
    Follow.objects.create(follower=people["bob"], followee=people["alice"])
    Follow.objects.create(follower=fan, followee=people["alice"])

    with django_capture_on_commit_callbacks(execute=True):
        post_comment(client_for(people["bob"]), note, "@shy @picky @fan @dave @outsider @nobody_here")
    mentioned = set(Notification.objects.filter(verb="mention").values_list("recipient__username", flat=True))
    # outsider does not follow alice and cannot see a followers-only note.
    assert mentioned == {"fan"}
    assert not (inbox(shy) or inbox(picky) or inbox(outsider))


def test_the_notification_is_written_with_the_comment(client_for, people, note):
    """In the comment's own transaction (no after-commit task): the test's transaction never commits."""
    post_comment(client_for(people["bob"]), note)
    notice = Notification.objects.get()
    assert (notice.recipient, notice.actor, notice.verb) == (people["alice"], people["bob"], "comment")
    assert (notice.target_type, notice.target_id) == ("note", note.pk)


def test_a_written_comment_is_answered_as_it_reads_back(client_for, people, note):
    """A new comment or reply is rendered from what was written, not read back: the answer must
    still be what reading it gives (author, the person answered, counts and flags)."""
    bob, carol = client_for(people["bob"]), client_for(people["carol"])
    root = post_comment(bob, note, "Where is this? @carol")
    read = bob.get(f"/api/v1/comments/{root['id']}").json()
    assert {**read, "replies": []} == root
    reply = post_reply(carol, root["id"], "Hangzhou!")
    assert carol.get(f"/api/v1/comments/{reply['id']}").json() == reply
    assert reply["reply_to"] == "bob" and reply["author"]["username"] == "carol"


# --- Query budgets -------------------------------------------------------------------------------

ROWS = 22


def _count_queries(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.fixture
def busy_note(people):
    """A note with ROWS roots, each with replies by varied authors, likes and a pinned comment."""
    note = NoteFactory(author=people["alice"])
    crowd = UserFactory.create_batch(ROWS)
    roots = Comment.objects.bulk_create(
        Comment(note=note, author=crowd[n], body=f"root {n}", reply_count=4) for n in range(ROWS)
    )
    Comment.objects.bulk_create(
        Comment(note=note, author=crowd[(n + k) % ROWS], parent=root, reply_to=root.author, body=f"r{k}")
        for n, root in enumerate(roots)
        for k in range(4)
    )
    first = roots[0]
    Comment.objects.bulk_create(
        Comment(note=note, author=crowd[k], parent=first, reply_to=crowd[k - 1], body=f"more {k}")
        for k in range(ROWS)
    )
    CommentLike.objects.bulk_create(CommentLike(comment=c, user=people["dave"]) for c in roots)
    Follow.objects.bulk_create(Follow(follower=people["dave"], followee=u) for u in crowd[:10])
    Note.objects.filter(pk=note.pk).update(pinned_comment=roots[-1])
    return note, first


def test_query_budget_of_the_comment_lists(client_for, people, busy_note):
    note, first = busy_note
    for client in (client_for(people["dave"]), client_for(people["bob"])):
        for url in (comments_url(note), replies_url(first.pk)):
            small = _count_queries(client, url, page_size=1)
            full = _count_queries(client, url, page_size=20)
            assert small == full, url
    # user, note, page of roots, their reply previews, the pinned comment and its preview
    assert _count_queries(client_for(people["dave"]), comments_url(note), page_size=20) == 6
    # user, comment, page of replies
    assert _count_queries(client_for(people["dave"]), replies_url(first.pk), page_size=20) == 3
    body = listing(client_for(people["dave"]), comments_url(note), page_size=20)
    assert len(body["results"]) == 20
    assert all(len(c["replies"]) == 3 for c in body["results"])
    assert all(c["liked"] for c in body["results"])


def test_query_budget_of_comment_writes(client_for, people, note):
    """Writing: the user, the note as the author may see it, the comment, its notice, the
    counter (and the transaction's BEGIN and COMMIT). Deleting: the user, the comment with its note,
    the conditional update, the counter with the pin (and BEGIN, COMMIT)."""
    bob = client_for(people["bob"])
    with CaptureQueriesContext(connection) as written:
        comment = post_comment(bob, note)
    with CaptureQueriesContext(connection) as deleted:
        assert bob.delete(f"/api/v1/comments/{comment['id']}").status_code == 204
    assert (len(written), len(deleted)) == (7, 6), [q["sql"][:60] for q in (*written, *deleted)]
    assert counts(note) == 0


def test_query_budget_for_anonymous_readers(anon_client, busy_note):
    note, first = busy_note
    assert _count_queries(anon_client, comments_url(note), page_size=1) == _count_queries(
        anon_client, comments_url(note), page_size=20
    )
    assert _count_queries(anon_client, replies_url(first.pk), page_size=1) == _count_queries(
        anon_client, replies_url(first.pk), page_size=20
    )


# --- Concurrency (PostgreSQL) --------------------------------------------------------------------


@requires_postgres()
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_parallel_likes_of_one_comment_by_one_user_count_once():
    author, fan = UserFactory(), UserFactory()
    note = NoteFactory(author=author)
    comment = services.comment_create(note=note, author=author, body="like me")

    def like():
        return services.comment_like(
            comment=Comment.objects.get(pk=comment.pk), user=User.objects.get(pk=fan.pk)
        )

    results = run_together([like] * 30)
    assert sum(r.changed for r in results) == 1
    assert CommentLike.objects.filter(comment=comment).count() == 1
    assert Comment.objects.get(pk=comment.pk).like_count == 1


@requires_postgres()
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_parallel_replies_and_deletes_keep_counters_exact():
    author = UserFactory()
    note = NoteFactory(author=author)
    root = services.comment_create(note=note, author=author, body="root")
    crowd = UserFactory.create_batch(10)
    doomed = [services.comment_create(note=note, author=u, body="bye", reply_to=root) for u in crowd]

    def reply(user):
        return lambda: services.comment_create(
            note=Note.objects.get(pk=note.pk),
            author=user,
            body="hi",
            reply_to=Comment.objects.get(pk=root.pk),
        )

    def delete(comment, user):
        return lambda: services.comment_delete(comment=Comment.objects.get(pk=comment.pk), user=user)

    jobs = [reply(u) for u in crowd] + [delete(c, c.author) for c in doomed] * 2
    run_together(jobs)
    live = Comment.objects.filter(note=note, deleted_at__isnull=True)
    assert Note.objects.get(pk=note.pk).comment_count == live.count() == 11
    assert Comment.objects.get(pk=root.pk).reply_count == live.filter(parent=root).count() == 10


# --- Admin ---------------------------------------------------------------------------------------


def test_admin_soft_deletes_through_the_service(client, people, note):
    root = services.comment_create(note=note, author=people["bob"], body="spam")
    reply = services.comment_create(note=note, author=people["carol"], body="ok", reply_to=root)
    Note.objects.filter(pk=note.pk).update(pinned_comment=root)
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    for url in ("/admin/notes/comment/", f"/admin/notes/comment/{root.pk}/change/", "/admin/notes/board/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/notes/comment/", {"q": "spam", "state": "live"}).status_code == 200

    response = client.post(
        "/admin/notes/comment/", {"action": "soft_delete", "_selected_action": [root.pk, reply.pk]}
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.comment_count, note.pinned_comment_id) == (0, None)
    assert Comment.objects.get(pk=root.pk).reply_count == 0
    assert Comment.objects.filter(deleted_at__isnull=True).count() == 0
