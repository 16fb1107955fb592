from tests.factories.accounts import BlockFactory, BrandFactory, FollowFactory, UserFactory

__all__ = ["BlockFactory", "BrandFactory", "FollowFactory", "UserFactory"]
