"""The order life cycle: ship, confirm, complete, cancel, expire, after-sales, refunds; who may do
what (BOLA), illegal moves (409), events and notifications, and the list's query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from shop import tasks as shop_tasks
from shop.choices import AfterSaleStatus, OrderStatus, PaymentStatus
from shop.models import SKU, Order, OrderEvent, Payment, Product
from shop.services.orders import orders_advance_due, orders_expire_due
from tests.factories import UserFactory
from tests.factories.shop import ProductFactory, SKUFactory, StoreFactory
from tests.helpers import assert_error
from tests.shop.orders_support import ORDERS, buyer_with_address, paid_order, pay, place_order, status_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(client_for, user):
    return buyer_with_address(client_for, user)


@pytest.fixture
def sku():
    return SKUFactory(stock=5)


@pytest.fixture
def brand(client_for, sku):
    return client_for(sku.product.store.brand.owner)


def act(client, order_id: int, action: str, body: dict | None = None):
    return client.post(f"{ORDERS}/{order_id}/{action}", body or {}, format="json")


def stock(sku: SKU) -> int:
    return SKU.objects.values_list("stock", flat=True).get(pk=sku.pk)


def test_the_happy_path_from_paid_to_completed(buyer, brand, sku, django_capture_on_commit_callbacks):
    order = paid_order(buyer, sku)
    with django_capture_on_commit_callbacks(execute=True):
        shipped = act(brand, order["id"], "ship", {"carrier": "顺丰", "tracking_number": "SF1234567890"})
    assert shipped.status_code == 200, shipped.content
    assert (shipped.json()["status"], shipped.json()["carrier"], shipped.json()["tracking_number"]) == (
        "shipped",
        "顺丰",
        "SF1234567890",
    )
    # Paid, then shipped: every step of an order is told.
    assert Notification.objects.filter(recipient=buyer.user, verb="order", target_id=order["id"]).count() == 2

    delivered = act(buyer, order["id"], "confirm").json()
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    completed = act(buyer, order["id"], "confirm").json()
    assert completed["status"] == "completed" and completed["closed_at"]
    assert [(e["from_status"], e["to_status"]) for e in completed["events"]] == [
        ("", "pending_payment"),
        ("pending_payment", "paid"),
        ("paid", "shipped"),
        ("shipped", "delivered"),
        ("delivered", "completed"),
    ]
    actors = [e["actor"] for e in completed["events"]]
    assert actors == [
        buyer.user.username,
        None,
        brand.user.username,
        buyer.user.username,
        buyer.user.username,
    ]
    assert stock(sku) == 3
    assert Product.objects.get(pk=sku.product_id).sales_count == 2


def test_illegal_transitions_are_409(buyer, brand, sku):
    order = place_order(buyer, sku)
    assert_error(
        act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "1"}), 409, "illegal_transition"
    )
    assert_error(act(buyer, order["id"], "confirm"), 409, "illegal_transition")
    assert_error(act(buyer, order["id"], "after-sales", {"reason": "坏了"}), 409, "after_sales_closed")
    act(buyer, order["id"], "cancel")
    error = assert_error(act(buyer, order["id"], "cancel"), 409, "illegal_transition")
    assert "cannot" in error["message"] or "not shipped" in error["message"]
    assert_error(pay(buyer, order["id"]), 409, "illegal_transition")
    assert status_of(order["id"]) == OrderStatus.CANCELLED


def test_cancelling_an_unpaid_order_gives_the_stock_back(buyer, sku):
    order = place_order(buyer, sku, 3)
    assert stock(sku) == 2
    body = act(buyer, order["id"], "cancel", {"reason": "买错了"}).json()
    assert body["status"] == "cancelled" and body["events"][-1]["note"] == "买错了"
    assert stock(sku) == 5


def test_cancelling_a_paid_order_gives_the_stock_back_and_refunds_it_after_commit(
    buyer, brand, sku, django_capture_on_commit_callbacks
):
    order = paid_order(buyer, sku)
    with django_capture_on_commit_callbacks() as callbacks:
        body = act(buyer, order["id"], "cancel").json()

    # The order's side is done in its own transaction; the provider has not been asked yet.
    assert body["status"] == "cancelled"
    assert [(p["provider"], p["status"], p["amount"]) for p in body["payments"]] == [
        ("sandbox", "refund_pending", order["total"])
    ]
    payment = Payment.objects.get(order_id=order["id"])
    assert (payment.status, payment.refund_id) == (PaymentStatus.REFUND_PENDING, "")
    assert stock(sku) == 5 and Product.objects.get(pk=sku.product_id).sales_count == 0
    for callback in callbacks:  # the commit: notifications, then the refund task
        callback()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED and payment.refund_id.startswith("re_sbx_")
    detail = buyer.get(f"{ORDERS}/{order['id']}").json()
    assert (detail["status"], [p["status"] for p in detail["payments"]]) == ("cancelled", ["refunded"])
    shipped = act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "1"})
    assert_error(shipped, 409, "illegal_transition")


def test_a_shipped_order_cannot_be_cancelled(buyer, brand, sku):
    order = paid_order(buyer, sku)
    act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "E1"})
    assert_error(act(buyer, order["id"], "cancel"), 409, "illegal_transition")
    assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.SUCCEEDED


def test_no_brand_ships_another_brands_order_and_buyers_do_not_ship(buyer, sku, client_for):
    order = paid_order(buyer, sku)
    other_brand = client_for(StoreFactory().brand.owner)
    ship = {"carrier": "EMS", "tracking_number": "E1"}
    assert_error(act(other_brand, order["id"], "ship", ship), 404, "not_found")
    assert_error(act(buyer, order["id"], "ship", ship), 404, "not_found")
    assert status_of(order["id"]) == OrderStatus.PAID


def test_nobody_reads_or_changes_another_users_order(buyer, sku, client_for):
    order = place_order(buyer, sku)
    stranger = client_for(UserFactory())
    assert_error(stranger.get(f"{ORDERS}/{order['id']}"), 404, "not_found")
    for action, body in (("cancel", {}), ("confirm", {}), ("pay", {}), ("after-sales", {"reason": "x"})):
        assert_error(act(stranger, order["id"], action, body), 404, "not_found")
    assert stranger.get(ORDERS).json()["results"] == []
    assert status_of(order["id"]) == OrderStatus.PENDING_PAYMENT


def test_the_brand_owner_reads_the_order_of_their_store(buyer, brand, sku):
    order = place_order(buyer, sku)
    detail = brand.get(f"{ORDERS}/{order['id']}").json()
    assert (detail["id"], detail["buyer"]) == (order["id"], buyer.user.username)
    assert [o["id"] for o in brand.get(f"{ORDERS}?as=brand").json()["results"]] == [order["id"]]
    assert brand.get(ORDERS).json()["results"] == []  # as a buyer they bought nothing


def test_after_sale_approved_refunds_and_restocks(buyer, brand, sku, django_capture_on_commit_callbacks):
    order = paid_order(buyer, sku)
    act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "E1"})
    act(buyer, order["id"], "confirm")
    with django_capture_on_commit_callbacks(execute=True):
        request = act(buyer, order["id"], "after-sales", {"reason": "颜色不对"})
    assert request.status_code == 201, request.content
    after_sale = request.json()
    assert (after_sale["status"], after_sale["reason"], after_sale["decided_at"]) == (
        "requested",
        "颜色不对",
        None,
    )
    assert Notification.objects.filter(recipient=brand.user, verb="order", target_id=order["id"]).exists()
    assert_error(act(buyer, order["id"], "after-sales", {"reason": "again"}), 409, "after_sale_open")
    assert_error(act(buyer, order["id"], "confirm"), 409, "after_sale_open")
    assert_error(act(buyer, order["id"], f"after-sales/{after_sale['id']}/approve"), 404, "not_found")

    with django_capture_on_commit_callbacks(execute=True):
        body = act(brand, order["id"], f"after-sales/{after_sale['id']}/approve", {"note": "同意退货"}).json()

    assert body["status"] == "refunded"
    assert [p["status"] for p in body["payments"]] == ["refund_pending"]  # as the request committed
    assert body["after_sales"][0]["status"] == AfterSaleStatus.APPROVED
    assert body["after_sales"][0]["decision_note"] == "同意退货"
    assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.REFUNDED
    assert stock(sku) == 5
    again = act(brand, order["id"], f"after-sales/{after_sale['id']}/decline")
    assert_error(again, 409, "illegal_transition")


def test_after_sale_declined_leaves_the_order_delivered(buyer, brand, sku):
    order = paid_order(buyer, sku)
    act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "E1"})
    act(buyer, order["id"], "confirm")
    after_sale = act(buyer, order["id"], "after-sales", {"reason": "不喜欢"}).json()
    body = act(brand, order["id"], f"after-sales/{after_sale['id']}/decline", {"note": "已拆封"}).json()
    assert body["status"] == "delivered" and body["after_sales"][0]["status"] == "declined"
    assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.SUCCEEDED
    assert stock(sku) == 3


def test_after_sales_close_seven_days_after_delivery(buyer, brand, sku):
    order = paid_order(buyer, sku)
    act(brand, order["id"], "ship", {"carrier": "EMS", "tracking_number": "E1"})
    act(buyer, order["id"], "confirm")
    Order.objects.filter(pk=order["id"]).update(delivered_at=timezone.now() - timedelta(days=7, minutes=1))
    assert_error(act(buyer, order["id"], "after-sales", {"reason": "late"}), 409, "after_sales_closed")


def test_the_clock_expires_unpaid_orders_and_advances_old_ones(buyer, brand, sku):
    unpaid = place_order(buyer, sku, 1)
    shipped = paid_order(buyer, sku, 1)
    act(brand, shipped["id"], "ship", {"carrier": "EMS", "tracking_number": "E1"})
    assert orders_expire_due() == 0 and orders_advance_due() == 0

    later = timezone.now() + timedelta(days=11)
    assert orders_expire_due(now=later) == 1
    assert orders_advance_due(now=later) == 1
    assert (status_of(unpaid["id"]), status_of(shipped["id"])) == (OrderStatus.EXPIRED, OrderStatus.DELIVERED)
    assert stock(sku) == 4
    assert orders_advance_due(now=later + timedelta(days=8)) == 1
    assert status_of(shipped["id"]) == OrderStatus.COMPLETED
    auto = OrderEvent.objects.filter(order_id=shipped["id"], actor=None, note="automatic")
    assert list(auto.values_list("to_status", flat=True)) == ["delivered", "completed"]


def test_the_beat_schedule_runs_the_shop_tasks(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"shop.tasks.orders_expire_due", "shop.tasks.orders_advance_due"} <= tasks
    assert shop_tasks.orders_expire_due.delay().get() == 0


def test_the_order_lists_page_with_a_query_budget(buyer, user, client_for, django_assert_max_num_queries):
    store = StoreFactory()
    skus = [SKUFactory(stock=50, product=ProductFactory(store=store)) for _ in range(3)]
    for n in range(22):
        place_order(buyer, skus[n % 3], 1)
    brand = client_for(store.brand.owner)

    with django_assert_max_num_queries(6):
        first = buyer.get(f"{ORDERS}?page_size=20")
    with django_assert_max_num_queries(6):
        as_brand = brand.get(f"{ORDERS}?as=brand&page_size=20")

    assert [o["id"] for o in as_brand.json()["results"]] == [o["id"] for o in first.json()["results"]]

    page = first.json()
    assert len(page["results"]) == 20 and page["next"]
    assert [o["id"] for o in page["results"]] == sorted((o["id"] for o in page["results"]), reverse=True)
    assert all(o["buyer"] == user.username and len(o["lines"]) == 1 for o in page["results"])
    rest = buyer.get(page["next"]).json()
    assert len(rest["results"]) == 2 and rest["next"] is None


def test_admin_lists_orders_with_history_and_refunds_through_the_service(
    admin_client, buyer, sku, django_capture_on_commit_callbacks
):
    order = paid_order(buyer, sku)
    unpaid = place_order(buyer, sku, 1)

    listing = admin_client.get("/admin/shop/order/?status__exact=paid")
    assert listing.status_code == 200
    assert f"/admin/shop/order/{order['id']}/change/" in listing.content.decode()
    assert f"/admin/shop/order/{unpaid['id']}/change/" not in listing.content.decode()
    change = admin_client.get(f"/admin/shop/order/{order['id']}/change/").content.decode()
    assert "pending_payment" in change and "pi_sbx_" in change

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/shop/order/",
            {"action": "refund", "_selected_action": [order["id"], unpaid["id"]]},
            follow=True,
        )

    text = response.content.decode()
    assert "1 order(s) refunded." in text and "Only a paid order can be refunded." in text
    assert (status_of(order["id"]), status_of(unpaid["id"])) == (
        OrderStatus.REFUNDED,
        OrderStatus.PENDING_PAYMENT,
    )
    assert Payment.objects.get(order_id=order["id"]).status == PaymentStatus.REFUNDED
    event = OrderEvent.objects.filter(order_id=order["id"]).last()
    assert (event.to_status, event.note, event.actor.is_superuser) == ("refunded", "refunded by staff", True)
    assert stock(sku) == 4
