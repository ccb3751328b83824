"""A minimal Django project that serves one URL per benchmarked variant."""
