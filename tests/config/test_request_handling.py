"""Two shortcuts in front of every view: query parameters validated by a serializer bound once per
class, and content negotiation that skips parsing ``Accept`` when the answer is known. Both must answer
as DRF's own code does."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.api.params import query_params
from config.api.renderers import FastJSONRenderer, Negotiation

pytestmark = pytest.mark.django_db

FOLLOWING = "/api/v1/feed/following"


class PageIn(serializers.Serializer):
    page_size = serializers.IntegerField(min_value=1, max_value=50, default=20)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    cursor = serializers.CharField(required=False, default="")


def _request(path: str, **headers) -> Request:
    return Request(APIRequestFactory().get(path, **headers))


@pytest.mark.parametrize(
    "query", ["", "?page_size=7", "?page_size=7&cursor=abc", "?tags=a&tags=b", "?unknown=1&page_size=50"]
)
def test_query_params_validate_as_is_valid_does(query):
    request = _request(f"/x{query}")
    reference = PageIn(data=request.query_params)
    assert reference.is_valid()
    assert query_params(PageIn, request) == reference.validated_data


def test_query_param_errors_are_is_valids_errors_and_leave_nothing_behind():
    bad = _request("/x?page_size=0")
    reference = PageIn(data=bad.query_params)
    assert not reference.is_valid()
    with pytest.raises(ValidationError) as refused:
        query_params(PageIn, bad)
    assert refused.value.detail == reference.errors
    # The bound instance is shared: a refusal must not colour the next request's answer.
    assert query_params(PageIn, _request("/x?page_size=3")) == {"page_size": 3, "cursor": ""}


def test_a_bad_feed_parameter_is_a_400_naming_the_field(client_for, user):
    response = client_for(user).get(f"{FOLLOWING}?page_size=500")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "page_size" in error["fields"]
    ok = client_for(user).get(f"{FOLLOWING}?page_size=2")
    assert ok.status_code == 200 and ok.json()["results"] == []


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/x", None),
        ("/x", "*/*"),
        ("/x", "application/json"),
        ("/x", "text/html"),
        ("/x", "application/json; indent=2"),
        ("/x?format=json", None),
        ("/x", "text/html, application/json;q=0.9"),
    ],
)
@pytest.mark.parametrize("renderers", [[FastJSONRenderer()], [FastJSONRenderer(), BrowsableAPIRenderer()]])
def test_negotiation_picks_what_drf_picks(path, accept, renderers):
    request = _request(path, **({"HTTP_ACCEPT": accept} if accept else {}))
    try:
        expected = DefaultContentNegotiation().select_renderer(request, renderers)
    except (NotAcceptable, Http404) as refused:
        with pytest.raises(type(refused)):
            Negotiation().select_renderer(request, renderers)
        return
    renderer, media_type = Negotiation().select_renderer(request, renderers)
    assert (renderer, media_type) == expected


def test_what_the_api_cannot_write_is_refused_in_json(client_for, user):
    api = client_for(user)
    refused = api.get(FOLLOWING, HTTP_ACCEPT="application/xml")
    assert refused.status_code == 406
    assert refused.json()["error"]["code"] == "not_acceptable"
    indented = api.get(FOLLOWING, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and indented.content.startswith(b'{\n  "')
    assert api.get(f"{FOLLOWING}?format=json").json()["results"] == []
    assert api.get(f"{FOLLOWING}?format=xml").status_code == 404
