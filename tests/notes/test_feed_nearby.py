"""The nearby feed: geohash cells that cover the circle, distances, ranking by score and nearness,
visibility, validation and query budgets. Endpoint tests run on both backends."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts import services as account_services
from notes.choices import Visibility
from notes.feeds import geo
from notes.models import NoteScore
from notes.services.notes import Place
from tests.factories import UserFactory
from tests.helpers import assert_error
from tests.notes.feeds_support import ago, all_pages, budget, ids, publish

pytestmark = pytest.mark.django_db

FEED = "/api/v1/feed/nearby"
PEOPLES_SQUARE = (31.2304, 121.4737)
PLACES = {
    "square": ("人民广场", "上海", 31.2304, 121.4737),  # 0 km
    "bund": ("外滩", "上海", 31.2400, 121.4900),  # ~1.9 km
    "wukang": ("武康路", "上海", 31.2046, 121.4368),  # ~4.5 km
    "hongqiao": ("虹桥", "上海", 31.1940, 121.3200),  # ~15 km
    "westlake": ("西湖", "杭州", 30.2590, 120.1300),  # ~165 km
}


def test_geohash_matches_the_reference_encoding():
    assert geo.encode(57.64911, 10.40744, 11) == "u4pruydqqvj"  # the example everyone uses
    assert geo.encode(*PEOPLES_SQUARE, 5) == "wtw3s"
    assert geo.distance_km(*PEOPLES_SQUARE, 31.2046, 121.4368) == pytest.approx(4.6, abs=0.1)
    assert geo.precision_for(1, 31) == 5 and geo.precision_for(5, 31) == 4 and geo.precision_for(50, 31) == 3
    assert len(geo.neighbourhood(*PEOPLES_SQUARE, 5)) == 9
    assert len(geo.neighbourhood(0.0, 179.99, 4)) == 9  # across the antimeridian


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(min_value=-70, max_value=70),
    lng=st.floats(min_value=-180, max_value=179.999),
    radius=st.floats(min_value=0.1, max_value=50),
    bearing=st.floats(min_value=0, max_value=2 * math.pi),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_the_nine_cells_cover_every_point_of_the_circle(lat, lng, radius, bearing, fraction):
    distance = radius * fraction * 0.999
    dlat = distance * math.cos(bearing) / geo.KM_PER_DEGREE
    dlng = distance * math.sin(bearing) / (geo.KM_PER_DEGREE * math.cos(math.radians(lat)))
    other_lat, other_lng = lat + dlat, (lng + dlng + 180) % 360 - 180
    if geo.distance_km(lat, lng, other_lat, other_lng) > radius:
        return  # the flat-earth offset overshot; not a point of the circle
    precision = geo.precision_for(radius, lat)
    assert geo.encode(other_lat, other_lng, precision) in geo.neighbourhood(lat, lng, precision)


@pytest.fixture
def placed(committed):
    """One public note at each place (by different people), all published an hour ago."""
    notes = {}
    with committed():
        for name, place in PLACES.items():
            notes[name] = publish(UserFactory(username=f"at_{name}"), place=Place(*place), at=ago(hours=1))
    return notes


def near(client, lat=PEOPLES_SQUARE[0], lng=PEOPLES_SQUARE[1], **params):
    query = "&".join(f"{k}={v}" for k, v in {"lat": lat, "lng": lng, **params}.items())
    return client.get(f"{FEED}?{query}")


@pytest.mark.usefixtures("feed_backend")
def test_notes_within_the_radius_nearest_first_when_scores_tie(placed, anon_client):
    response = near(anon_client)
    assert ids(response) == [placed["square"].pk, placed["bund"].pk, placed["wukang"].pk]
    distances = [item["distance_km"] for item in response.json()["results"]]
    # Places are stored rounded to ~100 m, so the one "at" the square is a few dozen metres off.
    assert distances[0] < 0.1 and 1.5 < distances[1] < 2.5 and 4 < distances[2] < 5
    assert ids(near(anon_client, radius_km=3)) == [placed["square"].pk, placed["bund"].pk]
    assert ids(near(anon_client, radius_km=20))[-1] == placed["hongqiao"].pk
    assert ids(near(anon_client, lat=30.26, lng=120.13, radius_km=1)) == [placed["westlake"].pk]


@pytest.mark.usefixtures("feed_backend")
def test_a_better_note_a_little_further_away_can_come_first(placed, anon_client):
    NoteScore.objects.filter(note=placed["wukang"]).update(
        rank=NoteScore.objects.get(note=placed["square"]).rank + 3
    )
    assert ids(near(anon_client))[0] == placed["wukang"].pk


@pytest.mark.usefixtures("feed_backend")
def test_pages_never_repeat(committed, anon_client):
    with committed():
        notes = [
            publish(UserFactory(), place=Place("", "上海", 31.2304 + n * 0.002, 121.4737), at=ago(minutes=n))
            for n in range(7)
        ]
    pages = all_pages(anon_client, f"{FEED}?lat=31.2304&lng=121.4737", page_size=3)
    served = [pk for page in pages for pk in page]
    assert sorted(served) == sorted(n.pk for n in notes) and [len(p) for p in pages] == [3, 3, 1]


@pytest.mark.usefixtures("feed_backend")
def test_only_what_the_viewer_may_see(placed, committed, client_for):
    owner = placed["bund"].author
    with committed():
        hidden_ones = [
            publish(owner, place=Place(*PLACES["square"]), visibility=visibility)
            for visibility in (Visibility.PRIVATE, Visibility.FOLLOWERS)
        ]
    reader = UserFactory()
    assert not set(ids(near(client_for(reader)))) & {n.pk for n in hidden_ones}
    with committed():
        account_services.block_create(blocker=placed["square"].author, blocked=reader)
    assert ids(near(client_for(reader))) == [placed["bund"].pk, placed["wukang"].pk]


def test_the_query_is_checked(anon_client):
    assert_error(anon_client.get(FEED), 400, "invalid")
    assert_error(near(anon_client, lat=91), 400, "invalid")
    assert_error(near(anon_client, radius_km=51), 400, "invalid")
    assert_error(near(anon_client, cursor="xyz"), 400, "invalid_cursor")


@pytest.mark.usefixtures("feed_backend")
def test_query_budget_is_the_same_at_every_page_size(committed, client_for, redis_trips):
    with committed():
        for n in range(22):
            publish(UserFactory(), place=Place("", "上海", 31.2304 + n * 0.001, 121.4737), at=ago(minutes=n))
    api = client_for(UserFactory())
    counts = []
    for size in (1, 20):
        with budget(redis_trips) as spent:
            response = near(api, page_size=size)
        assert len(ids(response)) == size
        assert spent["sql"] <= 3, spent["queries"]
        assert spent["redis"] == 0
        counts.append(spent["sql"])
    assert counts[0] == counts[1]
