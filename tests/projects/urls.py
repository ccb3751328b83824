"""No pages: the projects here are started for their settings and their doors."""

urlpatterns: list[object] = []
