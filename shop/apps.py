from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self):
        import shop.receivers  # noqa: F401  (connects the review-figure receivers)
