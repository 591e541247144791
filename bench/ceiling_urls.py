"""The benchmark's ceiling: a bare Django view doing one INSERT per request.

Mounted only when ``BENCH_CEILING=1`` (``bench/ingest.py`` sets it for its server); the
table ``bench_ceiling`` is created by the benchmark, never by a migration.
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_ceiling (k, body) VALUES (%s, %s)",
            [request.GET.get("k", ""), request.body[:64].decode("utf-8", "replace")],
        )
    return HttpResponse("success", content_type="text/plain")


urlpatterns = [path("insert/", insert)]
