from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """New accounts start with their username as nickname so profiles never look empty."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.nickname = user.nickname or user.username
        if commit:
            user.save()
        return user
