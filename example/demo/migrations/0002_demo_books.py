"""A few books for the list page, so a fresh database has something to show."""

from django.db import migrations

BOOKS = [
    ("A Wizard of Earthsea", "Ursula K. Le Guin"),
    ("Dune", "Frank Herbert"),
    ("Neuromancer", "William Gibson"),
    ("The Left Hand of Darkness", "Ursula K. Le Guin"),
]


def add_books(apps, schema_editor):
    Book = apps.get_model("demo", "Book")
    for title, author in BOOKS:
        Book.objects.get_or_create(title=title, author=author)


def remove_books(apps, schema_editor):
    Book = apps.get_model("demo", "Book")
    for title, author in BOOKS:
        Book.objects.filter(title=title, author=author).delete()


class Migration(migrations.Migration):
    dependencies = [("demo", "0001_initial")]

    operations = [migrations.RunPython(add_books, remove_books)]
