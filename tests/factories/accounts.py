import factory

from accounts.models import Block, Brand, Follow, User

PASSWORD = "zhongcao-test-pass"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a known password (``PASSWORD``). Counters start at 0; use services to follow."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    nickname = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class FollowFactory(factory.django.DjangoModelFactory):
    """A raw Follow row: counters are NOT updated (use ``services.follow_create`` for that)."""

    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    business_license = factory.Sequence(lambda n: f"91310000MA{n:08d}")
