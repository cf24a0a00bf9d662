"""Release 2 only adds: a nullable column, a NOT NULL column with a database default, a table, an index."""

from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=100)
    subtitle = models.CharField(max_length=100, null=True)
    pages = models.IntegerField(db_default=0)

    class Meta:
        indexes = [models.Index(fields=["title"], name="additive_book_title_idx")]


class Author(models.Model):
    name = models.CharField(max_length=100)
