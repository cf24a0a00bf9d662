from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user: Django's, swappable from day one."""
